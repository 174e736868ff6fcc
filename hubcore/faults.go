package hubcore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"kojigo/db"
	"kojigo/internal/kojixml"
)

// fault builds a Koji fault.
func fault(code int, format string, args ...any) *kojixml.Fault {
	return kojixml.Errorf(code, format, args...)
}

func genericErr(format string, args ...any) *kojixml.Fault {
	return fault(kojixml.GenericError, format, args...)
}

func paramErr(format string, args ...any) *kojixml.Fault {
	return fault(kojixml.ParameterError, format, args...)
}

func notAllowed(format string, args ...any) *kojixml.Fault {
	return fault(kojixml.ActionNotAllowed, format, args...)
}

// toFault maps any error a handler returns to the fault the client sees:
// faults pass through and store errors get Koji's codes. A database that
// cannot be reached is ServerOffline (the call changed nothing: clients
// retry it), a commit whose outcome was lost is RetryError (it may have
// been applied: clients must look before repeating it), and anything else
// is a GenericError without internals. The last three are logged with
// their detail under a reference that the fault text carries.
func (h *Hub) toFault(method string, err error) *kojixml.Fault {
	var f *kojixml.Fault
	switch {
	case errors.As(err, &f):
		return f
	case errors.Is(err, db.ErrNotOwner):
		return fault(kojixml.ActionNotAllowed, "%v", unwrapMsg(err))
	case errors.Is(err, db.ErrNotFound):
		return genericErr("%v", err)
	case errors.Is(err, db.ErrConflict):
		return genericErr("%v", err)
	case errors.Is(err, db.ErrLocked):
		return fault(kojixml.AuthLockError, "Cannot get exclusive session")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fault(kojixml.ServerOffline, "call interrupted: %v", err)
	case db.CommitUncertain(err):
		ref := h.logInternal(method, "database connection lost during commit", err)
		return fault(kojixml.RetryError, "%s: the database connection was lost while committing, so the call may have been applied; check its effect before repeating it (hub log ref %s)", method, ref)
	case db.Unavailable(err) || h.connectionLost(err):
		ref := h.logInternal(method, "database unavailable", err)
		return fault(kojixml.ServerOffline, "%s: the hub's database is unavailable; nothing was changed, retry later (hub log ref %s)", method, ref)
	}
	ref := h.logInternal(method, "internal error", err)
	return internalFault(method, ref)
}

// connectionLost tells a database connection cut without a word (the
// driver's bare EOF or network error) from the same error out of a file:
// it is the database's only if the database does not answer now either.
func (h *Hub) connectionLost(err error) bool {
	var ne net.Error
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &ne) &&
		!errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		return false
	}
	if h.store == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return db.Unavailable(h.store.CheckSchema(ctx))
}

// internalFault is the fault of an unexpected error: the method and the
// reference of the log line that has the detail, nothing else.
func internalFault(method, ref string) *kojixml.Fault {
	return genericErr("internal error in %s; the hub log has the details under ref %s", method, ref)
}

// logInternal logs an error that the client sees only as a reference, and
// returns that reference.
func (h *Hub) logInternal(method, what string, err error) string {
	var b [6]byte
	rand.Read(b[:])
	ref := hex.EncodeToString(b[:])
	h.log.Error(what, "ref", ref, "method", method, "err", err)
	return ref
}

// unwrapMsg drops the sentinel's text from "sentinel: detail" errors.
func unwrapMsg(err error) string {
	msg := err.Error()
	for _, s := range []error{db.ErrNotOwner} {
		p := s.Error() + ": "
		if len(msg) > len(p) && msg[:len(p)] == p {
			return msg[len(p):]
		}
	}
	return msg
}

// internalErr wraps an unexpected store error with the operation.
func internalErr(op string, err error) error {
	return fmt.Errorf("%s: %w", op, err)
}
