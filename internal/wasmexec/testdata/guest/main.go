// Command guest is a wasip1 program that run_test.go builds and runs under
// wasmexec.Run to check what the guest sees. Its first argument picks a
// probe; each probe prints one line and exits 0 unless told otherwise.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "guest: missing probe")
		os.Exit(2)
	}
	switch probe, args := os.Args[1], os.Args[2:]; probe {
	case "args":
		fmt.Println(args)
	case "env":
		fmt.Println(os.Getenv(args[0]))
	case "exit":
		code, _ := strconv.Atoi(args[0])
		fmt.Fprintln(os.Stderr, "exiting with", code)
		os.Exit(code)
	case "cwd":
		wd, err := os.Getwd()
		check(err)
		fmt.Println(wd)
	case "read":
		b, err := os.ReadFile(args[0])
		check(err)
		fmt.Print(string(b))
	case "write":
		check(os.WriteFile(args[0], []byte("x"), 0o644))
		fmt.Println("wrote", args[0])
	case "tempdir":
		dir, err := os.MkdirTemp("", "guest-")
		check(err)
		check(os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
		fmt.Println("ok")
	case "now":
		fmt.Println(time.Now().UnixNano())
	case "sleep":
		d, err := time.ParseDuration(args[0])
		check(err)
		start := time.Now()
		time.Sleep(d)
		fmt.Println(time.Since(start).Nanoseconds())
	case "rand":
		b := make([]byte, 16)
		_, err := rand.Read(b)
		check(err)
		fmt.Println(hex.EncodeToString(b))
	case "panic":
		panic("guest panic")
	default:
		fmt.Fprintln(os.Stderr, "guest: unknown probe", probe)
		os.Exit(2)
	}
}

func check(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
}
