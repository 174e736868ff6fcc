package repogen

import "errors"

// errNoExchange means an atomic directory exchange is not possible here.
var errNoExchange = errors.New("atomic exchange not supported")
