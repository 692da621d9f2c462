// Package workercmd is the worker's command line: it parses the arguments
// (Parse, Usage) and runs the operator's one-shot commands against the
// datastore (Admin): list links, queue a sync or a full re-sync, disable
// and enable a link. cmd/worker wires it to the configuration, the
// database and River; running the worker itself stays there.
package workercmd
