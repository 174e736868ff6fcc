// Package builderd is kojid, the build daemon: it checks in with the hub
// with its health, takes the tasks the hub assigns when it is ready, builds
// (mock where installed, otherwise rpmbuild in a private tree), streams the
// logs while the build runs, uploads the results, and closes or fails the
// task. It never takes work it cannot finish, and says why.
//
// A task's life on this host, in Koji's states:
//
//	ASSIGNED --check fails--> refused (host.refuseTask, with the reason) --> FREE
//	ASSIGNED --host.openTask--> OPEN --handler ok--> host.closeTask --> CLOSED
//	                             |    --handler error--> host.failTask --> FAILED
//	                             |    --hub cancels--> process group stopped, workdir removed
//	                             |    --SIGTERM (shutdown=free)--> host.freeTasks --> FREE
//	                             |    --handler hands it back (restartHosts)--> host.freeTasks --> FREE
//	                             +----kojid killed--> next start: host.freeTasks --> FREE
//
// A graceful restart (SIGUSR1, or a restart task: restart.go) takes no new
// task, lets the running ones end, logs out and executes kojid again.
package builderd
