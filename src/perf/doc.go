// Package perf is the domain of the EOSC Performance API: the entity types
// every layer shares, the list and filter types, the pure rules (who may do
// what, execution-time rules) and the error kinds that the HTTP layer maps to
// status codes. It imports nothing of this module, so every other package can
// import it without cycles.
package perf
