//go:build musts

package main

// troc notifies through net/http (its fixed shape), so the floor of what
// any troc must cost links it too, and runs its initialisation.
import _ "net/http"
