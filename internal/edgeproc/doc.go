// Package edgeproc runs the real programs of the product (edge,
// edge-admin) as processes for tests that need more than one of them, or
// a fault only a process can suffer (SIGKILL, SIGSTOP, SIGTERM and a
// drain): it builds them once per test binary, starts them with exactly
// the environment given, and shows their logs when a test fails. The
// peers such tests need run the same way: SIPp (StartSIPp) and Kamailio
// as a carrier's SBC (StartKamailio).
//
// It is imported by tests only.
package edgeproc
