// Package kojira is the repository administrator daemon, Koji 1.35's
// kojira: it drives the hub's repo queue (repo.checkQueue, repo.autoRequests,
// repo.updateEndEvents), expires repos that are no longer current, deletes
// expired ones after their lifetime (on the hub and from topdir/repos), and
// removes directories under topdir/repos the hub does not know. One kojira
// per farm is active; others wait on the hub's exclusive session.
//
// A repo's life as kojira sees it (Koji's states):
//
//	INIT  --task failed or canceled, or older than init_timeout--> PROBLEM (repoProblem)
//	READY --not current (end_event set, or custom opts), older than
//	        repo_lifetime, not the latest of a build target's build tag--> EXPIRED (repoExpire)
//	EXPIRED, PROBLEM --older than expired_repo_lifetime, no buildroot uses it-->
//	        DELETED (repoDelete), then repos/<tag>/<id> removed from disk
//
// Who is active:
//
//	login --exclusiveSession--> active: passes every sleeptime, heartbeat file
//	      --AuthLockError-----> standby: retry every sleeptime; when the
//	                            holder's heartbeat is older than lock_timeout
//	                            (it died without logging out), take the lock
//	                            with force
//	active --session closed by a forced takeover--> standby
package kojira
