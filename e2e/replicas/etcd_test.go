package replicas

import (
	"context"
	"testing"
	"time"
)

// TestEtcd: the harness's etcd serves its JSON gateway, stops serving when killed, and comes
// back on the same address with its data.
func TestEtcd(t *testing.T) {
	needSuite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := StartEtcd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, k := range []string{"p/a", "p/b", "q/c"} {
		if err := e.Put(ctx, k, "v"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.Keys(ctx, "p/"); err != nil || n != 2 {
		t.Fatalf("keys under p/: %d, %v; want 2", n, err)
	}
	e.Kill()
	if err := e.Put(ctx, "p/d", "v"); err == nil {
		t.Fatal("a put succeeded with etcd killed")
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Keys(ctx, "p/"); err != nil || n != 2 {
		t.Fatalf("keys under p/ after a restart: %d, %v; want 2", n, err)
	}
}
