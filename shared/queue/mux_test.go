package queue_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bucketlink/bucketlink/shared/queue"
)

func TestMux(t *testing.T) {
	var got []string
	record := func(name string) queue.Handler {
		return func(_ context.Context, m queue.Message) error {
			got = append(got, name+":"+m.Key)
			return nil
		}
	}
	mux := queue.Mux{queue.KindVerify: record("verify"), queue.KindReverify: record("reverify")}
	tests := []struct {
		name    string
		msg     queue.Message
		want    string
		wantErr error
	}{
		{name: "verify", msg: queue.Message{Kind: queue.KindVerify, Key: "a"}, want: "verify:a"},
		{name: "reverify", msg: queue.Message{Kind: queue.KindReverify, Key: "b"}, want: "reverify:b"},
		{name: "unknown kind", msg: queue.Message{Kind: "other", Key: "c"}, wantErr: queue.ErrUnknownKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			err := mux.Handle(context.Background(), tt.msg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Handle: got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && (len(got) != 1 || got[0] != tt.want) {
				t.Errorf("handled %v, want [%s]", got, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, queue.ErrInvalidMessage) {
				t.Errorf("error %v does not wrap ErrInvalidMessage", err)
			}
		})
	}
}
