package kmsseal_test

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/bucketlink/bucketlink/shared/errcode"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/seal/kmsseal"
)

// A Lambda builds the client and the Sealer once, at init, from the
// configuration the SDK loaded; every request then reuses them.
func ExampleNew() {
	var cfg aws.Config // from config.LoadDefaultConfig in main
	s := kmsseal.New(kms.NewFromConfig(cfg), "alias/bucketlink-credentials",
		kmsseal.WithRetry(4, 50*time.Millisecond, 500*time.Millisecond))

	open := func(ctx context.Context, env []byte, b seal.Binding) ([]byte, error) {
		pt, err := s.Open(ctx, env, b)
		switch {
		case errors.Is(err, errcode.ErrUnavailable):
			// KMS is down or throttling: the HTTP edge answers 503.
		case errors.Is(err, seal.ErrOpen):
			// The stored envelope is not this config's: log, answer 500.
			slog.ErrorContext(ctx, "credentials do not open", "config", b.ConfigUID, "err", err)
		}
		return pt, err
	}
	_ = open
}
