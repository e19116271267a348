package verifyworker_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bucketlink/bucketlink/shared/blob/anyblob"
	"github.com/bucketlink/bucketlink/shared/bucketverify"
	"github.com/bucketlink/bucketlink/shared/corscheck"
	"github.com/bucketlink/bucketlink/shared/netguard"
	"github.com/bucketlink/bucketlink/shared/verification"
	"github.com/bucketlink/bucketlink/shared/verify"
	"github.com/bucketlink/bucketlink/shared/verifyworker"
)

// TestCORSOutcomeStored runs a verification with app origins through the
// worker: the cors outcome is stored with the record (the store keeps the
// result as JSON) and the bucket-verify answer carries it as the additive
// "cors" field, beside the documented ones (the signed URL, sealed in
// the record, is opened by the API, not here). MinIO answers preflights from
// every origin (its server-wide api cors_allow_origin, default "*").
func TestCORSOutcomeStored(t *testing.T) {
	l := newLocal(t)
	v := &verify.Verifier{Opener: &anyblob.Opener{HTTPClient: &http.Client{}}, Deadline: 5 * time.Second,
		CORS: &corscheck.Checker{Client: netguard.Policy{AllowPrivate: true}.HTTPClient()}, AppOrigins: []string{"https://app.example.com"}}
	l.worker = &verifyworker.Worker{Store: l.store, Sealer: l.sealer, Verifier: v, LeaseTTL: 10 * time.Second}
	r := l.record(t, 0)
	if err := l.worker.Handle(t.Context(), msg(r.Key)); err != nil {
		t.Fatal(err)
	}
	got := l.get(t, r.Key)
	if got.State != verification.StateConnected || got.Result.CORS == nil || !got.Result.CORS.Passed() ||
		len(got.Result.CORS.Origins) != 1 || !got.Result.CORS.Origins[0].Upload.Allowed {
		t.Fatalf("record: %s, CORS %+v", got.State, got.Result.CORS)
	}
	body, err := json.Marshal(bucketverify.ResponseOf(got.View(time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	var wire map[string]json.RawMessage
	if err := json.Unmarshal(body, &wire); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"success", "connectionStatus", "files", "cors"} {
		if _, ok := wire[k]; !ok {
			t.Errorf("answer %s has no %q", body, k)
		}
	}
	if !strings.Contains(string(wire["cors"]), `"origin":"https://app.example.com"`) || strings.Contains(string(wire["cors"]), "X-Amz-Signature") {
		t.Errorf("cors = %s", wire["cors"])
	}
}
