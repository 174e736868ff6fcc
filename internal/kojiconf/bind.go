package kojiconf

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options control Load. The zero value reads a required file of at most
// DefaultMaxSize bytes, allows no other sections, takes overrides from the
// process environment and none from flags.
type Options struct {
	// Optional makes a missing file not an error: defaults, environment and
	// flags still apply. Any other failure to read the file is still an error.
	Optional bool
	// OtherSections names sections the file may hold besides the bound one,
	// which the caller reads itself with ParseFile (for example "policy" in
	// hub.conf). Any other section is an error.
	OtherSections []string
	// MaxSize is the largest file accepted, in bytes; DefaultMaxSize when <= 0.
	MaxSize int64
	// Environ returns the environment as "KEY=value" strings; os.Environ when nil.
	Environ func() []string
	// EnvPrefix is the prefix of environment overrides; "KOJI_" + the section
	// name in upper case + "_" when empty (KOJI_HUB_, KOJI_KOJID_).
	EnvPrefix string
	// Flags, when set and already parsed, override file and environment: every
	// flag set on the command line whose name equals a key (case-insensitive,
	// "-" matching "_") is applied. Other flags are ignored.
	Flags *flag.FlagSet
}

// Validator is implemented by config structs that check their values once all
// sources are applied. It may return *Error values with only Key and Msg set
// (alone, as Errors, or joined with errors.Join); Load fills in where each key
// was set so the message names the file and line.
type Validator interface {
	Validate() error
}

// Origins maps each key (as named in its `ini` tag) to where its value came
// from; keys left at their default are absent.
type Origins map[string]Origin

// Load fills dst, a pointer to a struct, from section of the INI file at path.
//
// Fields are bound with a tag `ini:"key"`; `help:"..."` documents the key and
// `unit:"..."` gives the unit of plain numbers for ByteSize (B, KiB, MiB, GiB,
// TiB) and time.Duration (ms, s, m, h; seconds by default) fields. Supported
// field types: string, bool, signed and unsigned integers, floats,
// time.Duration, ByteSize and []string (whitespace-separated).
//
// The order is: the values already in dst (the defaults), then the file, then
// environment variables EnvPrefix+KEY (key upper-cased, other characters than
// letters and digits as "_", e.g. KOJI_KOJID_MINSPACE), then flags, then
// dst.Validate when dst implements Validator. Keys in the file's [DEFAULT]
// section apply as in configparser. An empty path skips the file.
//
// Mistakes in the file or environment (unknown keys, with a suggestion when a
// known key is close; values of the wrong type; duplicate keys; syntax) are all
// collected and returned as Errors, each naming file and line. Errors in the
// use of the API itself (dst not a struct pointer, unsupported field types) are
// returned as plain errors.
func Load(path, section string, dst any, opts Options) (Origins, error) {
	fields, err := structFields(dst)
	if err != nil {
		return nil, err
	}
	b := newBinder(fields)
	if path != "" {
		b.loadFile(path, section, opts)
	}
	prefix := opts.EnvPrefix
	if prefix == "" {
		prefix = "KOJI_" + envName(section) + "_"
	}
	environ := opts.Environ
	if environ == nil {
		environ = os.Environ
	}
	b.applyEnv(prefix, environ())
	b.applyFlags(opts.Flags)
	if err := b.finish(dst); err != nil {
		return nil, err
	}
	return b.origins, nil
}

func (b *binder) loadFile(path, section string, opts Options) {
	f, err := ParseFile(path, opts.MaxSize)
	var es Errors
	switch {
	case err == nil:
	case errors.As(err, &es):
		b.errs = append(b.errs, es...)
		return
	case opts.Optional && errors.Is(err, fs.ErrNotExist):
		return
	default:
		b.errs = append(b.errs, &Error{Origin: Origin{File: path}, Msg: err.Error()})
		return
	}
	allowed := append([]string{section}, opts.OtherSections...)
	for _, s := range f.Sections {
		if s.Name == DefaultSection || contains(allowed, s.Name) {
			continue
		}
		b.errs = append(b.errs, &Error{Origin: Origin{File: path, Line: s.Line},
			Msg: fmt.Sprintf("unknown section [%s]%s", s.Name, didYouMean(bracket(suggest(s.Name, allowed))))})
	}
	sec := f.Section(section)
	if sec == nil {
		var names []string
		for _, s := range f.Sections {
			names = append(names, s.Name)
		}
		if hint := suggest(section, names); hint != "" && !contains(allowed, hint) {
			return // already reported as an unknown section with a suggestion
		}
		b.errs = append(b.errs, &Error{Origin: Origin{File: path}, Msg: fmt.Sprintf("no [%s] section", section)})
		return
	}
	b.applySection(path, f.Section(DefaultSection), sec, b.unknownIsError)
}

func bracket(s string) string {
	if s == "" {
		return ""
	}
	return "[" + s + "]"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// field is one bound struct field.
type field struct {
	name  string // as in the ini tag
	help  string
	index []int
	kind  kind
	unit  int64 // plain-number unit for sizes and durations
	uname string
	typ   reflect.Type
}

type kind int

const (
	kString kind = iota
	kBool
	kInt
	kUint
	kFloat
	kDuration
	kSize
	kList
)

var (
	durationType = reflect.TypeOf(time.Duration(0))
	sizeType     = reflect.TypeOf(ByteSize(0))
)

func structFields(dst any) ([]*field, error) {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("kojiconf: want a non-nil pointer to a struct, got %T", dst)
	}
	t := v.Elem().Type()
	var out []*field
	seen := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("ini")
		if !ok || tag == "-" {
			continue
		}
		if !sf.IsExported() || tag == "" {
			return nil, fmt.Errorf("kojiconf: %s.%s: ini tag needs an exported field and a key name", t, sf.Name)
		}
		f := &field{name: tag, help: sf.Tag.Get("help"), index: sf.Index, typ: sf.Type}
		unit := sf.Tag.Get("unit")
		switch {
		case sf.Type == durationType:
			f.kind, f.unit, f.uname = kDuration, int64(time.Second), "seconds"
			if unit != "" {
				u, ok := durationUnits[unit]
				if !ok || unit == "" {
					return nil, fmt.Errorf("kojiconf: %s.%s: unknown duration unit %q (want ms, s, m or h)", t, sf.Name, unit)
				}
				f.unit, f.uname = int64(u), map[string]string{"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours"}[unit]
			}
		case sf.Type == sizeType:
			f.kind, f.unit, f.uname = kSize, 1, "bytes"
			if unit != "" {
				u, ok := sizeSuffixes[strings.ToLower(unit)]
				if !ok {
					return nil, fmt.Errorf("kojiconf: %s.%s: unknown size unit %q (want B, KiB, MiB, GiB or TiB)", t, sf.Name, unit)
				}
				f.unit, f.uname = int64(u), unit
			}
		case unit != "":
			return nil, fmt.Errorf("kojiconf: %s.%s: unit tag only applies to time.Duration and ByteSize", t, sf.Name)
		default:
			switch sf.Type.Kind() {
			case reflect.String:
				f.kind = kString
			case reflect.Bool:
				f.kind = kBool
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				f.kind = kInt
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				f.kind = kUint
			case reflect.Float32, reflect.Float64:
				f.kind = kFloat
			case reflect.Slice:
				if sf.Type.Elem().Kind() != reflect.String {
					return nil, fmt.Errorf("kojiconf: %s.%s: unsupported type %s", t, sf.Name, sf.Type)
				}
				f.kind = kList
			default:
				return nil, fmt.Errorf("kojiconf: %s.%s: unsupported type %s", t, sf.Name, sf.Type)
			}
		}
		for _, k := range []string{strings.ToLower(tag), "env:" + envName(tag)} {
			if prev, dup := seen[k]; dup {
				return nil, fmt.Errorf("kojiconf: %s: keys %q and %q collide", t, prev, tag)
			}
			seen[k] = tag
		}
		out = append(out, f)
	}
	return out, nil
}

// envName upper-cases s and turns every character other than a letter or digit into "_".
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}

func flagName(s string) string { return strings.ReplaceAll(strings.ToLower(s), "-", "_") }

// binder applies values from the sources in order and collects errors.
type binder struct {
	fields  []*field
	byKey   map[string]*field // lower-case key
	values  map[*field]string // raw values, applied in finish
	origins Origins
	written map[*field]string // the key as the user wrote it, for messages
	errs    Errors
	warns   Errors
}

func newBinder(fields []*field) *binder {
	b := &binder{fields: fields, byKey: map[string]*field{}, values: map[*field]string{},
		origins: Origins{}, written: map[*field]string{}}
	for _, f := range fields {
		b.byKey[strings.ToLower(f.name)] = f
	}
	return b
}

func (b *binder) names() []string {
	out := make([]string, len(b.fields))
	for i, f := range b.fields {
		out[i] = f.name
	}
	return out
}

// unknownHandler decides what an unknown key means: an error for daemon
// configs, a warning for client profiles.
type unknownHandler func(e *Error)

func (b *binder) unknownIsError(e *Error)   { b.errs = append(b.errs, e) }
func (b *binder) unknownIsWarning(e *Error) { b.warns = append(b.warns, e) }

// applySection applies [DEFAULT] keys, then the section's own keys.
func (b *binder) applySection(path string, def, sec *Section, unknown unknownHandler) {
	for _, s := range []*Section{def, sec} {
		if s == nil {
			continue
		}
		for _, k := range s.Keys {
			b.set(k.Name, k.Value, Origin{File: path, Line: k.Line}, unknown)
		}
	}
}

// set records raw as the value of the key named name; it is converted in finish.
func (b *binder) set(name, raw string, o Origin, unknown unknownHandler) {
	f := b.byKey[strings.ToLower(name)]
	if f == nil {
		unknown(&Error{Origin: o, Key: name, Msg: "unknown key" + didYouMean(suggest(name, b.names()))})
		return
	}
	b.values[f] = raw
	b.origins[f.name] = o
	b.written[f] = name
}

func (b *binder) applyEnv(prefix string, environ []string) {
	byEnv := map[string]*field{}
	var envNames []string
	for _, f := range b.fields {
		byEnv[envName(f.name)] = f
		envNames = append(envNames, prefix+envName(f.name))
	}
	sort.Strings(environ)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		f := byEnv[strings.TrimPrefix(name, prefix)]
		if f == nil {
			b.errs = append(b.errs, &Error{Origin: Origin{Env: name},
				Msg: "unknown setting" + didYouMean(suggest(name, envNames))})
			continue
		}
		b.values[f] = value
		b.origins[f.name] = Origin{Env: name}
		b.written[f] = f.name
	}
}

func (b *binder) applyFlags(fset *flag.FlagSet) {
	if fset == nil {
		return
	}
	byFlag := map[string]*field{}
	for _, f := range b.fields {
		byFlag[flagName(f.name)] = f
	}
	fset.Visit(func(fl *flag.Flag) {
		f := byFlag[flagName(fl.Name)]
		if f == nil {
			return
		}
		b.values[f] = fl.Value.String()
		b.origins[f.name] = Origin{Flag: fl.Name}
		b.written[f] = f.name
	})
}

// finish converts the recorded values into a copy of dst, runs Validate on
// it, and stores it in dst only when all of that succeeded.
func (b *binder) finish(dst any) error {
	target := reflect.ValueOf(dst).Elem()
	tmp := reflect.New(target.Type())
	tmp.Elem().Set(target)
	v := tmp.Elem()
	for _, f := range b.fields {
		raw, ok := b.values[f]
		if !ok {
			continue
		}
		if msg := f.assign(v.FieldByIndex(f.index), raw); msg != "" {
			b.errs = append(b.errs, &Error{Origin: b.origins[f.name], Key: b.written[f],
				Msg: fmt.Sprintf("invalid value %q: want %s", clip(raw), msg)})
		}
	}
	if len(b.errs) > 0 {
		b.errs.sort()
		return b.errs
	}
	if val, ok := tmp.Interface().(Validator); ok {
		if err := val.Validate(); err != nil {
			return b.validateError(err)
		}
	}
	target.Set(v)
	return nil
}

func (b *binder) validateError(err error) error {
	b.locate(err)
	var es Errors
	if !leaves(err, &es) {
		return fmt.Errorf("config: %w", err)
	}
	es.sort()
	return es
}

// locate fills in the origin of every *Error in err's tree that names a key
// but no place.
func (b *binder) locate(err error) {
	switch e := err.(type) {
	case *Error:
		if e.Origin.IsDefault() && e.Key != "" {
			for _, f := range b.fields {
				if strings.EqualFold(f.name, e.Key) {
					e.Origin = b.origins[f.name]
				}
			}
		}
	case Errors:
		for _, x := range e {
			b.locate(x)
		}
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			b.locate(x)
		}
	case interface{ Unwrap() error }:
		if x := e.Unwrap(); x != nil {
			b.locate(x)
		}
	}
}

// leaves flattens err into out when it is made only of *Error values (alone,
// Errors, or joined); it reports false for any other error.
func leaves(err error, out *Errors) bool {
	switch e := err.(type) {
	case *Error:
		*out = append(*out, e)
		return true
	case Errors:
		*out = append(*out, e...)
		return true
	case interface{ Unwrap() []error }:
		for _, x := range e.Unwrap() {
			if !leaves(x, out) {
				return false
			}
		}
		return true
	}
	return false
}

// assign parses raw into v; it returns a description of the wanted type on failure.
func (f *field) assign(v reflect.Value, raw string) string {
	s := strings.TrimSpace(raw)
	switch f.kind {
	case kString:
		v.SetString(raw)
	case kList:
		v.Set(reflect.ValueOf(strings.Fields(raw)).Convert(v.Type()))
	case kBool:
		x, err := ParseBool(s)
		if err != nil {
			return "a boolean: yes/no, true/false, on/off or 1/0"
		}
		v.SetBool(x)
	case kInt:
		x, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			if v.Type().Bits() < 64 && errors.Is(err, strconv.ErrRange) {
				return fmt.Sprintf("an integer between %d and %d", int64(-1)<<(v.Type().Bits()-1), int64(1)<<(v.Type().Bits()-1)-1)
			}
			return "an integer"
		}
		v.SetInt(x)
	case kUint:
		x, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return "a non-negative integer"
		}
		v.SetUint(x)
	case kFloat:
		x, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return "a number"
		}
		v.SetFloat(x)
	case kDuration:
		x, err := parseDuration(s, time.Duration(f.unit))
		if err != nil {
			return "a duration such as 90s, 15m or 2h, or a number of " + f.uname
		}
		v.SetInt(int64(x))
	case kSize:
		x, err := ParseByteSize(s, ByteSize(f.unit))
		if err != nil {
			return "a size such as 8G, 512MiB or 100K, or a number of " + f.uname
		}
		v.SetInt(int64(x))
	}
	return ""
}

// KeyDoc documents one key, for --help and generated documentation.
type KeyDoc struct {
	Name    string // as in the ini tag
	Type    string // "string", "boolean", "integer", "number", "duration", "size", "list"
	Default string // the value dst held when Keys was called
	Help    string
	Env     string // environment variable that overrides it
}

// Keys describes the keys of the struct dst points to, in field order, with
// the current values of dst as defaults. section names the environment
// variables as Load does with an empty Options.EnvPrefix.
func Keys(dst any, section string) ([]KeyDoc, error) {
	fields, err := structFields(dst)
	if err != nil {
		return nil, err
	}
	v := reflect.ValueOf(dst).Elem()
	out := make([]KeyDoc, 0, len(fields))
	for _, f := range fields {
		fv := v.FieldByIndex(f.index)
		d := KeyDoc{Name: f.name, Help: f.help, Env: "KOJI_" + envName(section) + "_" + envName(f.name)}
		d.Type = [...]string{"string", "boolean", "integer", "integer", "number", "duration", "size", "list"}[f.kind]
		if f.kind == kList {
			d.Default = strings.Join(fv.Convert(reflect.TypeOf([]string(nil))).Interface().([]string), " ")
		} else {
			d.Default = fmt.Sprint(fv.Interface())
		}
		out = append(out, d)
	}
	return out, nil
}
