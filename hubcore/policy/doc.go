// Package policy is Koji's hub policy language (koji/policy.py): named rule
// sets from hub.conf's [policy] section, each rule "test args [&& test
// args ...] :: action" (or "!!" to negate the tests), nested "{ ... }"
// blocks, the first matching rule deciding. It parses, checks and evaluates
// rule sets over a map of policy data; it knows no database. The hub
// registers the tests that need one (has_perm, tag, buildtag, ...) in a
// Registry next to the generic ones here (true, all, match, compare,
// policy, ...).
package policy
