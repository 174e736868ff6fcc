package kojiclient

import (
	"errors"
	"fmt"
	"io"
)

// errTooLarge is returned when a response exceeds Options.MaxResponseSize.
var errTooLarge = errors.New("response larger than the configured limit")

// readError marks a failure to read the response body from the network, as
// opposed to a body that was read but is malformed.
type readError struct{ err error }

func (e *readError) Error() string { return "read response: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

func isReadError(err error) bool {
	var re *readError
	return errors.As(err, &re)
}

// limitedBody reads at most max bytes and fails with errTooLarge beyond that.
type limitedBody struct {
	r   io.Reader
	n   int64
	max int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.n > b.max {
		return 0, fmt.Errorf("%w (%d bytes)", errTooLarge, b.max)
	}
	// Read one byte past the limit to tell "exactly max" from "more".
	if rem := b.max + 1 - b.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return 0, fmt.Errorf("%w (%d bytes)", errTooLarge, b.max)
	}
	if err != nil && err != io.EOF {
		return n, &readError{err}
	}
	return n, err
}
