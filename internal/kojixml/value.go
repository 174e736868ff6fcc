package kojixml

import "fmt"

// Koji's fault codes (koji/__init__.py). A hub error that is not one of Koji's
// exceptions is faultCode 1 in Koji.
const (
	UnknownError        = 1
	GenericError        = 1000
	LockError           = 1001
	AuthError           = 1002
	TagError            = 1003
	ActionNotAllowed    = 1004
	BuildError          = 1005
	AuthLockError       = 1006
	AuthExpired         = 1007
	SequenceError       = 1008
	RetryError          = 1009
	PreBuildError       = 1010
	PostBuildError      = 1011
	BuildrootError      = 1012
	FunctionDeprecated  = 1013
	ServerOffline       = 1014
	LiveCDError         = 1015
	PluginError         = 1016
	CallbackError       = 1017
	ApplianceError      = 1018
	ParameterError      = 1019
	ImportError         = 1020
	ConfigurationError  = 1021
	LiveMediaError      = 1022
	GSSAPIAuthError     = 1023
	NameValidationError = 1024
)

// Fault is an XML-RPC fault: Koji's exception code and message.
type Fault struct {
	Code   int
	String string
}

// Error returns the fault string, as Koji's exceptions print.
func (f *Fault) Error() string { return f.String }

// Errorf returns a Fault with the given code and a formatted message.
func Errorf(code int, format string, args ...any) *Fault {
	return &Fault{Code: code, String: fmt.Sprintf(format, args...)}
}

// Member is one named value of a Struct.
type Member struct {
	Name  string
	Value any
}

// Struct is an XML-RPC struct whose members are written in the given order,
// as a Python dict keeps insertion order.
type Struct []Member

// Encoded is one value already encoded by AppendValue, written as it is:
// the hub keeps the encoding of rows that rarely change (hosts) instead of
// encoding them again for every call.
type Encoded []byte

// Valuer is implemented by types that encode as another value, for example a
// hub row type that returns a Struct.
type Valuer interface {
	XMLRPCValue() any
}

// Call is a decoded <methodCall>.
type Call struct {
	Method string
	Params []any
}
