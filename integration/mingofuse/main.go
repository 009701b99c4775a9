// Command mingofuse is the minimal go-fuse file system the benchmarks
// measure ipcfs against, beside integration/c/minfuse.c: the same files on
// the same go-fuse and the same mount options as ipcfs, and nothing else,
// so that what ipcfs costs above it is ipcfs's own.
//
//	mingofuse SIZE MOUNTPOINT
//
// Two files: "data", SIZE bytes kept in memory (reads and writes copy),
// and "op", whose writes are accepted and do nothing. Opens are direct
// I/O; entries are cached a second (go-fuse's default). It prints "ready"
// once mounted, and unmounts at SIGTERM or SIGINT.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

type root struct {
	fs.Inode
	data []byte
}

// file is "data" when data is set, else "op".
type file struct {
	fs.Inode
	data []byte
}

var (
	_ fs.NodeOnAdder   = (*root)(nil)
	_ fs.NodeGetattrer = (*file)(nil)
	_ fs.NodeOpener    = (*file)(nil)
	_ fs.NodeReader    = (*file)(nil)
	_ fs.NodeWriter    = (*file)(nil)
	_ fs.NodeSetattrer = (*file)(nil)
)

func (r *root) OnAdd(ctx context.Context) {
	for name, f := range map[string]*file{"data": {data: r.data}, "op": {}} {
		r.AddChild(name, r.NewPersistentInode(ctx, f, fs.StableAttr{Mode: syscall.S_IFREG}), false)
	}
}

func (f *file) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	out.Mode = 0666
	out.Size = uint64(len(f.data))
	return 0
}

// Setattr accepts a truncation (a shell's `echo >` on a kernel that sends
// one) and changes nothing.
func (f *file) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	return f.Getattr(ctx, fh, out)
}

func (f *file) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	return nil, fuse.FOPEN_DIRECT_IO, 0
}

func (f *file) Read(ctx context.Context, fh fs.FileHandle, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	end := min(off+int64(len(dest)), int64(len(f.data)))
	return fuse.ReadResultData(f.data[min(off, end):end]), 0
}

func (f *file) Write(ctx context.Context, fh fs.FileHandle, d []byte, off int64) (uint32, syscall.Errno) {
	if f.data != nil {
		copy(f.data[min(off, int64(len(f.data))):], d)
	}
	return uint32(len(d)), 0
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mingofuse SIZE MOUNTPOINT")
		os.Exit(2)
	}
	size, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	runtime.GOMAXPROCS(1) // as ipcfs runs
	r := &root{data: make([]byte, size)}
	o := &fs.Options{}
	o.MountOptions = fuse.MountOptions{
		FsName:            "mingofuse",
		MaxWrite:          fuse.MAX_KERNEL_WRITE,
		DisableSplice:     true,
		DirectMountStrict: true,
		ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_HANDLE_KILLPRIV_V2,
		DisableXAttrs:     true,
	}
	srv, err := fs.Mount(os.Args[2], r, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() { <-sig; srv.Unmount() }()
	srv.Wait()
}
