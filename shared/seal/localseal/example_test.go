package localseal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/localseal"
)

func Example() {
	dir, err := os.MkdirTemp("", "localseal-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	// The first Open creates the key file; later ones reuse it.
	s, err := localseal.Open(filepath.Join(dir, "master.key"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	b := seal.Binding{OrgID: 42, ConfigUID: "3f1c"}
	env, err := s.Seal(ctx, []byte("credential"), b)
	if err != nil {
		fmt.Println(err)
		return
	}
	pt, err := s.Open(ctx, env, b)
	fmt.Printf("%s %v\n", pt, err)

	_, err = s.Open(ctx, env, seal.Binding{OrgID: 42, ConfigUID: "other"})
	fmt.Println(err != nil)
	// Output:
	// credential <nil>
	// true
}
