package hubcore

import (
	"context"
	"errors"
	"fmt"

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
// faults pass through, store errors get Koji's codes, anything else is a
// GenericError whose message names the operation (never a stack).
func toFault(err error) *kojixml.Fault {
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
	}
	return genericErr("%v", err)
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
