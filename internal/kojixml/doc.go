// Package kojixml is the XML-RPC codec of the kojigo hub: it decodes Koji method
// calls, encodes responses and faults byte for byte the way Koji's hub
// (Python's xmlrpc.client through koji.xmlrpcplus) writes them, and encodes and
// decodes the task request/result documents Koji stores in the database.
//
// Values are nil, bool, int64 (decoded from <int>, <i4>, <i8>, ...), float64,
// string, []byte (<base64>), time.Time (<dateTime.iso8601>), []any and
// map[string]any. The encoder also takes the other Go integer and float types,
// typed slices and string-keyed maps, Struct (members in a given order) and
// Valuer.
//
// Choices, where Python's behaviour and Go's differ:
//   - Integers are int64. <i8> is written for values outside int32, as
//     koji.xmlrpcplus does; a uint64 above MaxInt64 cannot be encoded.
//   - map[string]any is written with its keys sorted (Python dicts keep their
//     insertion order; Koji's query results happen to be sorted). Use Struct
//     when the order matters.
//   - Strings are escaped like Python's (&, <, >), except that '\r' is written
//     as &#13; so that it survives XML line-end normalisation, and characters
//     XML cannot carry (most C0 controls, invalid UTF-8) become U+FFFD, where
//     Python would write a document no parser accepts.
//   - time.Time is written in UTC as 20240101T12:00:00 (Python's format);
//     decoded times are UTC. The decoder also takes 2024-01-01T12:00:00, an
//     optional fraction and a Z or ±hh:mm suffix.
//   - Args follows Python's call semantics (an argument by position or by
//     keyword, "missing", "multiple values", "unexpected keyword" errors, all
//     ParameterError 1019 as koji.util.call_with_argcheck raises them). Int
//     accepts bool (Python's bool is an int) and decimal strings (Koji's
//     convert_value casts with int()); Float accepts integers; Bool accepts
//     integers (truthiness) and nil (false); other strings are type errors.
//
// The decoder is a small hand-written parser for the XML subset XML-RPC uses:
// it rejects DOCTYPE (so no entity can be declared or expanded), bounds nesting
// depth and value count (DecodeOptions), and checks that the input is
// well-formed UTF-8 XML. The encoder keeps a sync.Pool of buffers, a cache that
// holds no state between calls.
package kojixml
