// Package config reads pfmsync's configuration once, from environment
// variables, validates it, and renders it with every secret redacted.
//
// Binaries call Load(getenv) at start and pass the resulting values down;
// nothing else in pfmsync reads the environment.
package config
