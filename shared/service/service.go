// Package service assembles bucketlink from its parts: the API server
// (httpapi.Server) and the consumer of the verification queue (the
// bucket-verify worker and the re-verifier). It is the one place both
// `bucketlink serve` (SQLite, the local sealer, the in-process queue) and
// the AWS functions (DynamoDB, KMS, SQS, EventBridge; package awsapp)
// wire them, so that the two never drift.
//
// A part left nil is one the caller does not have: a Lambda function gets
// only the parts its endpoint calls (a function that opens no bucket has
// no Verifier, and links no driver), and the handlers of the routes it
// does not serve never run there.
package service

import (
	"log/slog"
	"time"

	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/httpapi"
	"github.com/bucketlink/bucketlink/shared/metrics"
	"github.com/bucketlink/bucketlink/shared/queue"
	"github.com/bucketlink/bucketlink/shared/ratelimit"
	"github.com/bucketlink/bucketlink/shared/reverify"
	"github.com/bucketlink/bucketlink/shared/seal"
	"github.com/bucketlink/bucketlink/shared/store"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// Verifier runs the checks: of a stored config (create, test,
// re-verification) and of a bucket-verify run. *verify.Verifier is one.
type Verifier interface {
	httpapi.Verifier
	verifyworker.BucketVerifier
}

// Parts are what the API and the queue consumer are built from.
type Parts struct {
	Store  store.Store
	Sealer seal.Sealer
	// Verifier is nil in a process that opens no bucket.
	Verifier Verifier
	// Queue receives the verifications the bucket-verify API starts; nil
	// where that API is not served.
	Queue queue.Sender
	// Events receives the is_verified changes of test/ and of
	// re-verification; nil publishes nothing.
	Events changeevents.Publisher
	// Limiter limits each API key's requests; nil limits nothing.
	Limiter ratelimit.Limiter
	// Metrics receives what is counted and timed (package metrics):
	// every verification, the rate-limited requests and the queue age;
	// nil records nothing.
	Metrics metrics.Recorder

	// CursorKey signs pagination cursors; VerifyKey keys verification
	// records (see httpapi.Server).
	CursorKey, VerifyKey []byte
	// AWSAccountID and GCPPrincipal are what setup-info reports.
	AWSAccountID string
	GCPPrincipal string
	// AzureFederation is what setup-info reports as
	// azure_federated_credential.
	AzureFederation httpapi.AzureFederation
	// VerifyRecordDeadline and VerifyOrgCap are those of httpapi.Server;
	// 0 means their defaults.
	VerifyRecordDeadline time.Duration
	VerifyOrgCap         int
	// LeaseTTL is the worker's lease on a verification record.
	LeaseTTL time.Duration
	// Clock is the time of the re-verifier (the worker keeps the real
	// time, for its leases); nil means the real time.
	Clock func() time.Time
	// Logger receives the JSON log.
	Logger *slog.Logger
}

// API returns the API server on p.
func (p Parts) API() *httpapi.Server {
	s := &httpapi.Server{
		Store:                p.Store,
		Sealer:               p.Sealer,
		Queue:                p.Queue,
		Events:               p.Events,
		Limiter:              p.Limiter,
		Metrics:              p.Metrics,
		CursorKey:            p.CursorKey,
		VerifyKey:            p.VerifyKey,
		AWSAccountID:         p.AWSAccountID,
		GCPPrincipal:         p.GCPPrincipal,
		AzureFederation:      p.AzureFederation,
		VerifyRecordDeadline: p.VerifyRecordDeadline,
		VerifyOrgCap:         p.VerifyOrgCap,
		Logger:               p.Logger,
	}
	if v := p.verifier(); v != nil {
		s.Verifier = v
	}
	return s
}

// Worker returns the bucket-verify worker on p (queue.KindVerify).
func (p Parts) Worker() *verifyworker.Worker {
	w := &verifyworker.Worker{Store: p.Store, Sealer: p.Sealer, LeaseTTL: p.LeaseTTL, Logger: p.Logger}
	if v := p.verifier(); v != nil {
		w.Verifier = v
	}
	return w
}

// Reverifier returns the re-verifier of stored configs on p
// (queue.KindReverify).
func (p Parts) Reverifier() *reverify.Reverifier {
	r := &reverify.Reverifier{Store: p.Store, Sealer: p.Sealer, Events: p.Events, Clock: p.Clock, Logger: p.Logger}
	if v := p.verifier(); v != nil {
		r.Verifier = v
	}
	return r
}

// Consumer returns the handler of the verification queue: the worker of
// Worker for queue.KindVerify and the re-verifier of Reverifier for
// queue.KindReverify.
func (p Parts) Consumer() (*verifyworker.Worker, *reverify.Reverifier, queue.Mux) {
	w, r := p.Worker(), p.Reverifier()
	return w, r, queue.Mux{
		queue.KindVerify:   p.timeQueue(queue.KindVerify, w.Handle),
		queue.KindReverify: p.timeQueue(queue.KindReverify, r.Handle),
	}
}
