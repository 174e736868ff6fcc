// Package comps reads and writes comps.xml, the package-group file that
// buildroots (mock's "@build" group) and installers resolve groups from.
//
// Write produces, byte for byte, what Koji 1.35's koji.generate_comps writes
// for a tag's groups (the hub's repoInit writes it to groups/comps.xml with
// ExpandGroups), except that text is XML-escaped where Koji writes it raw (a
// description with "&" made Koji's file unreadable). Read parses a comps.xml
// the way `koji import-comps` (libcomps) sees it: groups with their
// untranslated name and description, packagereq with type, requires and
// basearchonly, and the group's grouplist (groupreq, metapkg); categories,
// environments and langpacks are skipped. Read is safe on hostile input: the
// size is bounded (MaxSize), entity declarations are refused and undeclared
// entities are errors (nothing is expanded or fetched), and nesting depth
// and field lengths are bounded.
package comps
