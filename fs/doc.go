// Package fs holds the FUSE node types of ipcfs, one file per kind of
// node, built on go-fuse's fs package. Each operation resolves its path to
// an IPC object and makes one call into package sysv; the kernel, not this
// package, holds all IPC state.
package fs
