package ctl

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"kojigo/db"
	"kojigo/internal/password"
)

// dbFlag resolves --db, falling back to KOJI_DB.
func dbFlag(env *Env, v string) (string, error) {
	if v == "" {
		v = env.Getenv("KOJI_DB")
	}
	if v == "" {
		return "", usageErr("--db DSN is required (or KOJI_DB): postgres://user@host:5432/db or sqlite:///absolute/path/koji.db")
	}
	return v, nil
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate")
	dsn := fs.String("db", "", "database DSN: postgres://user@host:5432/db or sqlite:///absolute/path/koji.db (env KOJI_DB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	d, err := dbFlag(env, *dsn)
	if err != nil {
		return err
	}
	s, err := db.Open(ctx, d, db.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	before, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(env.Stdout, "database is up to date at schema version %d\n", before)
		return nil
	}
	fmt.Fprintf(env.Stdout, "migrated from schema version %d to %d\n", before, applied[len(applied)-1])
	return nil
}

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// userUsage is kojictl user's usage line; every flag it names exists.
const userUsage = "kojictl user add NAME [--perm PERM ...] [--password-file F | --password-stdin] [--update] --db DSN"

func runUser(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprintf(env.Stdout, "usage: %s\n\nrun 'kojictl user add -h' for the flags\n", userUsage)
		return flag.ErrHelp
	}
	if len(args) == 0 || args[0] != "add" {
		return usageErr("%s", userUsage)
	}
	fs := newFlags(env, "user add")
	dsn := fs.String("db", "", "database DSN (env KOJI_DB)")
	var perms multiFlag
	fs.Var(&perms, "perm", "grant a permission (repeatable): admin, host, repo, regen-repo, tag, target, ...")
	pwFile := fs.String("password-file", "", "read the password from the first line of this file")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	update := fs.Bool("update", false, "if the user exists, set its password and add the permissions instead of failing")
	rest := args[1:]
	// allow NAME before or after the flags
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if name == "" {
		return usageErr("user add: NAME is required")
	}
	if err := validName(name); err != nil {
		return usageErr("%v", err)
	}
	if *pwFile != "" && *pwStdin {
		return usageErr("--password-file and --password-stdin exclude each other")
	}
	d, err := dbFlag(env, *dsn)
	if err != nil {
		return err
	}
	var pw string
	switch {
	case *pwFile != "":
		pw, err = readPasswordFile(*pwFile)
	case *pwStdin:
		pw, err = readPassword(env.Stdin, "standard input")
	}
	if err != nil {
		return err
	}
	var hash string
	if pw != "" {
		if hash, err = password.Hash(pw); err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
	}
	s, err := db.Open(ctx, d, db.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err != nil {
		return err
	}
	return s.WithTx(ctx, func(tx *db.Store) error {
		u, err := tx.GetUserByName(ctx, name)
		switch {
		case errors.Is(err, db.ErrNotFound):
			id, err := tx.CreateUser(ctx, db.User{Name: name, PasswordHash: hash})
			if err != nil {
				return err
			}
			u.ID = id
			fmt.Fprintf(env.Stdout, "created user %s (id %d)\n", name, id)
		case err != nil:
			return err
		case !*update:
			return fmt.Errorf("user %s already exists; add --update to change its password or permissions", name)
		default:
			if hash != "" {
				if err := tx.SetPassword(ctx, u.ID, hash); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "set the password of %s\n", name)
			}
		}
		for _, p := range perms {
			perm, err := tx.GetPermByName(ctx, p)
			if errors.Is(err, db.ErrNotFound) {
				return fmt.Errorf("no permission %q; kojictl knows the ones in getAllPerms (admin, host, repo, regen-repo, tag, target, ...)", p)
			}
			if err != nil {
				return err
			}
			if err := tx.GrantPerm(ctx, u.ID, perm.ID, nil); err != nil && !errors.Is(err, db.ErrConflict) {
				return err
			}
			fmt.Fprintf(env.Stdout, "granted %s to %s\n", p, name)
		}
		return nil
	})
}

func validName(name string) error {
	if len(name) > 255 {
		return errors.New("name longer than 255 characters")
	}
	for _, r := range name {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("name %q contains whitespace or a control character", name)
		}
	}
	return nil
}

func readPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	defer f.Close()
	return readPassword(f, path)
}

func readPassword(r io.Reader, from string) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, password.MaxLen+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from %s: %w", from, err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("read password from %s: it is empty", from)
	}
	if len(line) > password.MaxLen {
		return "", fmt.Errorf("read password from %s: longer than %d bytes", from, password.MaxLen)
	}
	return line, nil
}
