package kojiclient

import (
	"context"
	"fmt"
	"log/slog"
	"math"

	"kojigo/internal/kojiconf"
)

// OptionsFromProfile maps a koji client profile (~/.koji/config, read by
// kojiconf.LoadClientProfile) to Options: server, cert, serverca, timeout,
// max_retries, retry_interval (the base of the backoff here, a fixed wait in
// Koji) and upload_blocksize. Koji's defaults, 30 retries 20 s apart, would
// keep a command silent for ten minutes and more; here a call also stops
// retrying after Options.MaxRetryTime (DefaultMaxRetryTime: one minute). Keys for Kerberos, anon_retry, offline_retry
// and auth_timeout have no effect. no_ssl_verify is refused: kojigo never
// talks to a hub it cannot verify.
func OptionsFromProfile(p *kojiconf.ClientProfile) (Options, error) {
	if p == nil {
		return Options{}, fmt.Errorf("koji profile: nil profile")
	}
	where := func(key string) string {
		if o, ok := p.Origins[key]; ok && !o.IsDefault() {
			return o.String() + ": "
		}
		return ""
	}
	if p.NoSSLVerify {
		return Options{}, fmt.Errorf("%sprofile %s: no_ssl_verify is not supported; set serverca to the CA file that issued the hub's certificate", where("no_ssl_verify"), p.Profile)
	}
	if p.UploadBlockSize < 0 || int64(p.UploadBlockSize) > math.MaxInt32 {
		return Options{}, fmt.Errorf("%sprofile %s: upload_blocksize %d out of range", where("upload_blocksize"), p.Profile, p.UploadBlockSize)
	}
	opts := Options{
		Server:          p.Server,
		ServerCAFile:    p.ServerCA,
		Timeout:         p.Timeout,
		MaxRetries:      p.MaxRetries,
		RetryInterval:   p.RetryInterval,
		UploadBlockSize: int(p.UploadBlockSize),
	}
	if p.MaxRetries == 0 {
		opts.MaxRetries = -1 // max_retries = 0 means no retries in Koji
	}
	// The cert is only for ssl logins; Koji ignores it otherwise.
	if p.EffectiveAuthType() == "ssl" {
		opts.CertFile = p.Cert
	}
	return opts, nil
}

// NewFromProfile is New(OptionsFromProfile(p)) with the given logger (nil:
// discard). Errors name the profile, and the file and line where a bad
// value was set.
func NewFromProfile(p *kojiconf.ClientProfile, logger *slog.Logger) (*Client, error) {
	opts, err := OptionsFromProfile(p)
	if err != nil {
		return nil, err
	}
	opts.Logger = logger
	c, err := New(opts)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Profile, err)
	}
	return c, nil
}

// LoginWithProfile logs in as the koji CLI would with p's authtype
// (kojiconf.ClientProfile.EffectiveAuthType): ssl uses the certificate,
// password uses user and password, noauth does nothing. Kerberos is not
// supported.
func (c *Client) LoginWithProfile(ctx context.Context, p *kojiconf.ClientProfile) error {
	switch at := p.EffectiveAuthType(); at {
	case "noauth":
		return nil
	case "ssl":
		if c.opts.CertFile == "" {
			return fmt.Errorf("profile %s: authtype ssl needs cert (the client certificate file)", p.Profile)
		}
		return c.SSLLogin(ctx)
	case "password":
		if p.User == "" {
			return fmt.Errorf("profile %s: authtype password needs user", p.Profile)
		}
		return c.Login(ctx, p.User, p.Password)
	case "kerberos":
		return fmt.Errorf("profile %s: Kerberos (GSSAPI) login is not supported by kojigo; set authtype = ssl with cert, or authtype = password", p.Profile)
	default:
		return fmt.Errorf("profile %s: unknown authtype %q", p.Profile, at)
	}
}
