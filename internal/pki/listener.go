package pki

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ListenerOptions configure NewListener. The zero value is usable.
type ListenerOptions struct {
	// OnFailure receives every failed handshake that the config's own
	// VerifyConnection did not already report: clients that refused the
	// hub's certificate, plain HTTP on the TLS port, version mismatches,
	// timeouts. Clients that connect and close without a word (health
	// checks, port scans) are not reported. Nil: failures are dropped.
	OnFailure func(Failure)
	// HandshakeTimeout bounds one handshake, from accept to Finished; 5s
	// when zero (a Koji client on any network finishes in well under a
	// second; a peer that sends nothing is dropped that much sooner).
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds handshakes in progress; further connections wait
	// in the kernel's backlog. 4096 when zero: a goroutine and a few KiB
	// each, so that silent peers cannot fill it before they time out.
	MaxHandshakes int
	// MaxHandshakesPerIP bounds handshakes in progress from one address;
	// a connection beyond it is closed at once (and reported once until
	// that address's handshakes drain), so that one peer cannot hold all
	// of MaxHandshakes. 256 when zero.
	MaxHandshakesPerIP int
}

// Defaults of ListenerOptions.
const (
	DefaultHandshakeTimeout   = 5 * time.Second
	DefaultMaxHandshakes      = 4096
	DefaultMaxHandshakesPerIP = 256
)

// NewListener wraps inner so that Accept returns only connections whose TLS
// handshake with cfg has succeeded. Handshakes run in their own goroutines,
// so a slow client delays nobody, and every failure is explained through
// opts.OnFailure with the peer's address. A plain-HTTP request on the TLS
// port is answered with 400 "Client sent an HTTP request to an HTTPS
// server.", as net/http's own TLS server does. Serve HTTP on it with
// http.Server.Serve; the server sees *tls.Conn values, so r.TLS is set.
// Close stops accepting, cancels handshakes in progress and waits for them.
func NewListener(inner net.Listener, cfg *tls.Config, opts ListenerOptions) net.Listener {
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if opts.MaxHandshakes <= 0 {
		opts.MaxHandshakes = DefaultMaxHandshakes
	}
	if opts.MaxHandshakesPerIP <= 0 {
		opts.MaxHandshakesPerIP = DefaultMaxHandshakesPerIP
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{
		inner:  inner,
		cfg:    cfg,
		opts:   opts,
		ctx:    ctx,
		cancel: cancel,
		conns:  make(chan *tls.Conn),
		sem:    make(chan struct{}, opts.MaxHandshakes),
		perIP:  map[string]*ipHandshakes{},
		dead:   make(chan struct{}),
	}
	l.wg.Add(1)
	go l.acceptLoop()
	return l
}

type listener struct {
	inner  net.Listener
	cfg    *tls.Config
	opts   ListenerOptions
	ctx    context.Context
	cancel context.CancelFunc
	conns  chan *tls.Conn
	sem    chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	perIP map[string]*ipHandshakes // handshakes in progress by peer address

	dead    chan struct{} // closed when the accept loop ends
	errOnce sync.Once
	err     error // why the accept loop ended
}

func (l *listener) acceptLoop() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		select {
		case l.sem <- struct{}{}:
		case <-l.ctx.Done():
			l.stop(net.ErrClosed)
			return
		}
		c, err := l.inner.Accept()
		if err != nil {
			<-l.sem
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				// Out of file descriptors and the like: back off as
				// net/http does, then retry.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				t := time.NewTimer(delay)
				select {
				case <-t.C:
					continue
				case <-l.ctx.Done():
					t.Stop()
					l.stop(net.ErrClosed)
					return
				}
			}
			l.stop(err)
			return
		}
		delay = 0
		ip := peerIP(c)
		if n, first := l.enter(ip); n > l.opts.MaxHandshakesPerIP {
			l.leave(ip)
			<-l.sem
			c.Close()
			if first {
				l.reportBusy(ip)
			}
			continue
		}
		l.wg.Add(1)
		go l.handshake(c, ip)
	}
}

// ipHandshakes counts one address's handshakes in progress.
type ipHandshakes struct {
	n        int
	reported bool // its refusal was reported since n was last zero
}

// enter counts a handshake from ip and returns how many are in progress,
// and whether this is the first time in this episode it exceeds the limit.
func (l *listener) enter(ip string) (n int, firstOver bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.perIP[ip]
	if e == nil {
		e = &ipHandshakes{}
		l.perIP[ip] = e
	}
	e.n++
	if e.n > l.opts.MaxHandshakesPerIP && !e.reported {
		e.reported = true
		return e.n, true
	}
	return e.n, false
}

func (l *listener) leave(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.perIP[ip]; e != nil {
		if e.n--; e.n <= 0 {
			delete(l.perIP, ip)
		}
	}
}

// peerIP is the address part of c's remote address.
func peerIP(c net.Conn) string {
	addr := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

func (l *listener) reportBusy(ip string) {
	if l.opts.OnFailure == nil || l.ctx.Err() != nil {
		return
	}
	d := Diagnosis{Problem: ProblemHandshake, Err: errTooManyHandshakes,
		Message: fmt.Sprintf("the client at %s has more than %d TLS handshakes in progress; further connections from it are closed until they finish or time out (%s); if it is a gateway in front of many Koji clients, spread them over more addresses",
			ip, l.opts.MaxHandshakesPerIP, l.opts.HandshakeTimeout)}
	l.opts.OnFailure(newFailure(d, ip, timeOf(l.cfg)))
}

// errTooManyHandshakes is the Err of a reportBusy failure.
var errTooManyHandshakes = errors.New("too many TLS handshakes in progress from one address")

func (l *listener) stop(err error) {
	l.errOnce.Do(func() {
		l.err = err
		close(l.dead)
	})
}

func (l *listener) handshake(raw net.Conn, ip string) {
	defer l.wg.Done()
	tc := tls.Server(raw, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, l.opts.HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	cancel()
	l.leave(ip)
	<-l.sem
	if err != nil {
		var rhe tls.RecordHeaderError
		if errors.As(err, &rhe) && rhe.Conn != nil && looksLikeHTTP(rhe.RecordHeader) {
			refusePlainHTTP(raw)
		}
		l.report(err, raw.RemoteAddr().String(), timedOut)
		tc.Close()
		return
	}
	select {
	case l.conns <- tc:
	case <-l.ctx.Done():
		tc.Close()
	}
}

// plainHTTPAnswer is what net/http's own TLS server answers a plain-HTTP
// request, so that clients can tell (see IsTLSPortAnswer) and say which URL
// to use instead of retrying a connection that was closed without a word.
const plainHTTPAnswer = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// looksLikeHTTP reports whether the first five bytes on a TLS port are the
// start of an HTTP request (net/http's test).
func looksLikeHTTP(hdr [5]byte) bool {
	switch string(hdr[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		return true
	}
	return false
}

// refusePlainHTTP answers a plain-HTTP request with plainHTTPAnswer, then
// half-closes and reads what the client still sends (for a second and 8 MiB
// at most: a request body up to an upload chunk), so that closing does not
// reset the connection before the client has read the answer.
func refusePlainHTTP(c net.Conn) {
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, plainHTTPAnswer); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		io.Copy(io.Discard, io.LimitReader(c, 8<<20))
	}
}

func (l *listener) report(err error, addr string, timedOut bool) {
	if l.opts.OnFailure == nil || l.ctx.Err() != nil {
		return
	}
	var re reportedError
	if errors.As(err, &re) || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return
	}
	now := timeOf(l.cfg)
	var d Diagnosis
	if timedOut {
		d = Diagnosis{Problem: ProblemHandshake, Err: err,
			Message: "the client at " + addr + " did not finish the TLS handshake within " + l.opts.HandshakeTimeout.String() + "; if it is a Koji client, check its network path to the hub"}
	} else {
		info := HandshakeInfo{Side: SideServer, PeerAddr: addr, Now: now}
		if len(l.cfg.Certificates) > 0 {
			info.OwnCert = l.cfg.Certificates[0].Leaf
		}
		d = DiagnoseHandshake(err, info)
	}
	l.opts.OnFailure(newFailure(d, addr, now))
}

// Accept returns the next connection whose handshake succeeded.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.dead:
		return nil, l.err
	}
}

// Close stops the listener and waits for its goroutines.
func (l *listener) Close() error {
	l.cancel()
	err := l.inner.Close()
	l.wg.Wait()
	l.stop(net.ErrClosed)
	return err
}

func (l *listener) Addr() net.Addr { return l.inner.Addr() }
