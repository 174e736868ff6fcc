package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"kojigo/internal/kojiclient"
	"kojigo/internal/kojiconf"
	"kojigo/tui/farm"
)

// Options configure Run. Zero values are the documented defaults.
type Options struct {
	// Profile is the ~/.koji/config section, as koji -p. Empty: "koji".
	Profile string
	// ConfigFile replaces ~/.koji/config, as koji -c.
	ConfigFile string
	// Server overrides the profile's hub URL.
	Server string
	// NoAuth reads anonymously even when the profile has credentials.
	NoAuth bool
	// ReadOnly offers no actions (logging in still shows who you are).
	ReadOnly bool
	// Refresh is how often the farm is read. Zero: 5 s; at least 1 s.
	Refresh time.Duration
	// NoColor draws without colour; NO_COLOR (any non-empty value) and
	// TERM=dumb do too.
	NoColor bool
	// Mouse turns on the mouse (it breaks terminal text selection).
	Mouse bool
	// Batch prints one frame of BatchView to Stdout and returns.
	Batch     bool
	BatchView string // hosts (default), tasks or certs
	Width     int    // batch width; zero: COLUMNS, else 120
	// LogFile receives kojitop's own log. Empty: ~/.kojigo/kojitop.log.
	LogFile string
	// Stdin, Stdout: the terminal. Nil: os.Stdin, os.Stdout.
	Stdin  io.Reader
	Stdout io.Writer
	// Getenv reads the environment. Nil: os.Getenv.
	Getenv func(string) string
}

// Errors a caller tells apart.
var (
	ErrNotTerminal = errors.New("standard output is not a terminal: run kojitop in a terminal, or use kojitop --batch for one frame as text")
)

func (o *Options) setDefaults() error {
	if o.Profile == "" {
		o.Profile = "koji"
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Refresh == 0 {
		o.Refresh = 5 * time.Second
	}
	if o.Refresh < time.Second {
		return fmt.Errorf("--refresh %s: at least 1s (the hub is asked once per refresh)", o.Refresh)
	}
	if o.Refresh > 24*time.Hour {
		return fmt.Errorf("--refresh %s: at most 24h", o.Refresh)
	}
	switch o.BatchView {
	case "":
		o.BatchView = "hosts"
	case "hosts", "tasks", "certs":
	default:
		return fmt.Errorf("--view %q: want hosts, tasks or certs", o.BatchView)
	}
	if o.Width < 0 || o.Width > 1000 {
		return fmt.Errorf("--width %d: want %d to 1000", o.Width, MinWidth)
	}
	if o.Width != 0 && o.Width < MinWidth {
		return fmt.Errorf("--width %d: kojitop needs at least %d columns", o.Width, MinWidth)
	}
	if o.Getenv("NO_COLOR") != "" || o.Getenv("TERM") == "dumb" {
		o.NoColor = true
	}
	if o.Server != "" {
		u, err := url.Parse(o.Server)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--server %q: want the hub's URL, e.g. https://koji.example.org/kojihub", o.Server)
		}
	}
	return nil
}

// Run connects to the hub named by the options and runs the console until
// the user quits or ctx ends; with Batch it prints one frame and returns.
func Run(ctx context.Context, o Options) error {
	if err := o.setDefaults(); err != nil {
		return err
	}
	if !o.Batch && !isTerminal(o.Stdout) {
		return ErrNotTerminal
	}
	logger, closeLog := openLog(o)
	defer closeLog()
	conn, err := Connect(ctx, o, logger)
	if err != nil {
		return err
	}
	defer conn.Close()
	if o.Batch {
		return batch(ctx, o, conn)
	}
	m := New(Config{Hub: conn.Hub, Me: conn.Me, Server: conn.Profile.Server, ReadOnly: o.ReadOnly || o.NoAuth,
		Refresh: o.Refresh, NoColor: o.NoColor, Mouse: o.Mouse, OwnCert: conn.certFile(), Context: ctx})
	opts := []tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.Stdin), tea.WithOutput(o.Stdout)}
	if o.NoColor {
		opts = append(opts, tea.WithColorProfile(colorprofile.ASCII))
	}
	_, err = tea.NewProgram(m, opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Conn is a console's connection to a hub.
type Conn struct {
	Hub     *farm.Hub
	Me      farm.Me
	Profile *kojiconf.ClientProfile
	client  *kojiclient.Client
}

func (c *Conn) certFile() string {
	if c.Profile.EffectiveAuthType() == "ssl" && !c.Me.Anonymous {
		return c.Profile.Cert
	}
	return ""
}

// Close logs out.
func (c *Conn) Close() {
	if c.client != nil && c.client.LoggedIn() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.client.Logout(ctx)
	}
}

// Connect reads the profile, logs in as it says (unless NoAuth) and asks
// the hub what it offers.
func Connect(ctx context.Context, o Options, logger *slog.Logger) (*Conn, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	p, err := loadProfile(o)
	if err != nil {
		return nil, err
	}
	copts, err := kojiclient.OptionsFromProfile(p)
	if err != nil {
		return nil, err
	}
	// The console retries on its own timer and says so on screen; a call
	// must not sit in the client's backoff meanwhile.
	copts.MaxRetries = -1
	copts.Timeout = callTimeout
	copts.Logger = logger
	calls, err := kojiclient.New(copts)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Profile, err)
	}
	if !o.NoAuth {
		if err := calls.LoginWithProfile(ctx, p); err != nil {
			var te *kojiclient.TransportError
			if errors.As(err, &te) {
				return nil, fmt.Errorf("log in to %s: %w", p.Server, err)
			}
			return nil, fmt.Errorf("log in to %s: %w (kojitop --noauth reads anonymously)", p.Server, err)
		}
	}
	wopts := copts
	wopts.CertFile, wopts.KeyFile = "", ""
	wopts.Timeout = (watchTimeout + 15) * time.Second
	watch, err := kojiclient.New(wopts)
	if err != nil {
		return nil, err
	}
	hub := &farm.Hub{Calls: calls, Watch: watch}
	me, err := hub.Probe(ctx)
	if err != nil {
		return nil, fmt.Errorf("hub %s: %w", p.Server, err)
	}
	return &Conn{Hub: hub, Me: me, Profile: p, client: calls}, nil
}

func loadProfile(o Options) (*kojiconf.ClientProfile, error) {
	p, err := kojiconf.LoadClientProfile(o.Profile, kojiconf.ClientOptions{ConfigFile: o.ConfigFile, Home: o.Getenv("HOME")})
	if err != nil {
		var es kojiconf.Errors
		// --server alone, with no config at all, runs on Koji's defaults
		// as koji --server does.
		if o.Server == "" || o.Profile != "koji" || errors.As(err, &es) || o.ConfigFile != "" {
			return nil, err
		}
		p = kojiconf.DefaultClientProfile(o.Profile)
	}
	if o.Server != "" {
		p.Server = o.Server
	}
	if p.Server == "" {
		return nil, fmt.Errorf("profile %q has no server: set server = https://HUB/kojihub in ~/.koji/config or pass --server URL", p.Profile)
	}
	if o.NoAuth {
		p.AuthType = "noauth"
	}
	return p, nil
}

// openLog opens kojitop's own log file: never the terminal it draws on.
func openLog(o Options) (*slog.Logger, func()) {
	path := o.LogFile
	if path == "" {
		home := o.Getenv("HOME")
		if home == "" {
			return slog.New(slog.DiscardHandler), func() {}
		}
		path = filepath.Join(home, ".kojigo", "kojitop.log")
		_ = os.MkdirAll(filepath.Dir(path), 0o700)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return slog.New(slog.DiscardHandler), func() {}
	}
	l := slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})).With("component", "kojitop")
	return l, func() { f.Close() }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// batch prints one frame of a view as plain text, like top -b -n 1.
func batch(ctx context.Context, o Options, conn *Conn) error {
	s, err := conn.Hub.Fetch(ctx)
	if err != nil {
		return fmt.Errorf("read the farm from %s: %w", conn.Profile.Server, err)
	}
	width := o.Width
	if width == 0 {
		width = 120
		if c := o.Getenv("COLUMNS"); c != "" {
			var n int
			if _, err := fmt.Sscan(c, &n); err == nil && n >= MinWidth && n <= 1000 {
				width = n
			}
		}
	}
	m := New(Config{Hub: conn.Hub, Me: conn.Me, Server: conn.Profile.Server, ReadOnly: o.ReadOnly || o.NoAuth, NoColor: true,
		OwnCert: conn.certFile(), Context: ctx})
	_, err = io.WriteString(o.Stdout, m.Frame(s, o.BatchView, width))
	return err
}

// Frame draws one whole view of a snapshot as plain text, every row, for
// --batch.
func (m *Model) Frame(s *farm.Snapshot, view string, width int) string {
	m.batch = true
	m.onSnapshot(SnapshotMsg{Snap: s})
	m.hosts.cursor, m.tasks.cursor = -1, -1 // no selection on paper
	switch view {
	case "tasks":
		m.view = viewTasks
	case "certs":
		m.view = viewCerts
	default:
		m.view = viewHosts
	}
	rows := len(s.Hosts) + len(s.Active) + len(s.Recent) + len(s.TLS) + 16
	m.width, m.height = width, rows+chromeTop+chromeBottom
	lines := strings.Split(m.render(), "\n")
	// the key hints mean nothing on paper
	lines = append(lines[:2], lines[3:]...)
	for i := range lines {
		lines[i] = strings.TrimRight(ansi.Strip(lines[i]), " ")
	}
	last := len(lines) - 1 // the status line
	body := lines[:last]
	for len(body) > 0 && body[len(body)-1] == "" {
		body = body[:len(body)-1]
	}
	if lines[last] != "" {
		body = append(body, "", lines[last])
	}
	return strings.Join(body, "\n") + "\n"
}
