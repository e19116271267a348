package queue_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bucketlink/bucketlink/shared/queue"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		m       queue.Message
		wantErr bool
	}{
		{"verify", queue.Message{Kind: queue.KindVerify, Key: "abc123"}, false},
		{"custom kind", queue.Message{Kind: "re-verify.v2_x", Key: "k"}, false},
		{"unicode key", queue.Message{Kind: queue.KindReverify, Key: "clé/é"}, false},
		{"longest key", queue.Message{Kind: queue.KindVerify, Key: strings.Repeat("k", queue.MaxKeyLen)}, false},
		{"empty kind", queue.Message{Key: "k"}, true},
		{"kind starts with digit", queue.Message{Kind: "1verify", Key: "k"}, true},
		{"kind with space", queue.Message{Kind: "ver ify", Key: "k"}, true},
		{"kind too long", queue.Message{Kind: queue.Kind(strings.Repeat("a", queue.MaxKindLen+1)), Key: "k"}, true},
		{"empty key", queue.Message{Kind: queue.KindVerify}, true},
		{"key too long", queue.Message{Kind: queue.KindVerify, Key: strings.Repeat("k", queue.MaxKeyLen+1)}, true},
		{"key not utf-8", queue.Message{Kind: queue.KindVerify, Key: "\xff"}, true},
		{"key with tab", queue.Message{Kind: queue.KindVerify, Key: "a\tb"}, true},
		{"org group", queue.Message{Kind: queue.KindVerify, Key: "k", Group: "42"}, false},
		{"longest group", queue.Message{Kind: queue.KindVerify, Key: "k", Group: strings.Repeat("g", queue.MaxGroupLen)}, false},
		{"group punctuation", queue.Message{Kind: queue.KindVerify, Key: "k", Group: "org:42/a-b_c.d~"}, false},
		{"group too long", queue.Message{Kind: queue.KindVerify, Key: "k", Group: strings.Repeat("g", queue.MaxGroupLen+1)}, true},
		{"group with space", queue.Message{Kind: queue.KindVerify, Key: "k", Group: "org 42"}, true},
		{"group not ascii", queue.Message{Kind: queue.KindVerify, Key: "k", Group: "é"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.m.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate(%q) = %v, want error %v", tc.m, err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, queue.ErrInvalidMessage) {
				t.Errorf("Validate error %v does not wrap ErrInvalidMessage", err)
			}
		})
	}
}

func TestEncodeDecode(t *testing.T) {
	m := queue.Message{Kind: queue.KindVerify, Key: `a "quoted" clé`, Attempt: 7}
	body, err := queue.Encode(m)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if want := `{"kind":"verify","key":"a \"quoted\" clé"}`; body != want {
		t.Errorf("Encode = %s, want %s", body, want)
	}
	got, err := queue.Decode(body)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if want := (queue.Message{Kind: m.Kind, Key: m.Key}); got != want {
		t.Errorf("Decode(Encode(m)) = %+v, want %+v (Attempt is not carried)", got, want)
	}
	grouped := queue.Message{Kind: queue.KindVerify, Key: "k", Group: "42"}
	body, err = queue.Encode(grouped)
	if err != nil || body != `{"kind":"verify","key":"k","group":"42"}` {
		t.Errorf("Encode(grouped) = %s, %v", body, err)
	}
	if got, err := queue.Decode(body); err != nil || got != grouped {
		t.Errorf("Decode(Encode(grouped)) = %+v, %v; want %+v", got, err, grouped)
	}
	if _, err := queue.Encode(queue.Message{Kind: queue.KindVerify}); !errors.Is(err, queue.ErrInvalidMessage) {
		t.Errorf("Encode(no key) = %v, want ErrInvalidMessage", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"empty", ""},
		{"not json", "verify:abc"},
		{"array", `["verify","abc"]`},
		{"no key", `{"kind":"verify"}`},
		{"bad kind", `{"kind":"VERIFY","key":"abc"}`},
		{"wrong type", `{"kind":"verify","key":5}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := queue.Decode(tc.body)
			if !errors.Is(err, queue.ErrInvalidMessage) {
				t.Fatalf("Decode(%q) = %v, want ErrInvalidMessage", tc.body, err)
			}
		})
	}
	if m, err := queue.Decode(`{"kind":"verify","key":"k","extra":1}`); err != nil || m.Key != "k" {
		t.Errorf("Decode with an unknown field = %+v, %v; want it ignored", m, err)
	}
}

func TestInvoke(t *testing.T) {
	m := queue.Message{Kind: queue.KindVerify, Key: "k"}
	sentinel := errors.New("boom")
	tests := []struct {
		name      string
		h         queue.Handler
		wantErr   error
		wantInMsg string
		notInMsg  string
	}{
		{"ok", func(context.Context, queue.Message) error { return nil }, nil, "", ""},
		{"error passes through", func(context.Context, queue.Message) error { return sentinel }, sentinel, "", ""},
		{"panic value hidden", func(context.Context, queue.Message) error { panic("secret-ish value") }, queue.ErrHandlerPanic, "verify:k", "secret-ish"},
		{"runtime error shown", func(context.Context, queue.Message) error {
			var p *int
			return errors.New(string(rune(*p)))
		}, queue.ErrHandlerPanic, "nil pointer", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := queue.Invoke(t.Context(), tc.h, m)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Invoke = %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), tc.wantInMsg) {
				t.Errorf("Invoke error %q does not contain %q", err, tc.wantInMsg)
			}
			if tc.notInMsg != "" && strings.Contains(err.Error(), tc.notInMsg) {
				t.Errorf("Invoke error %q leaks the panic value", err)
			}
		})
	}
}

func TestSendError(t *testing.T) {
	err := error(&queue.SendError{Failed: []queue.Message{{Kind: "verify", Key: "a"}}, Total: 3, Err: context.Canceled})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("SendError does not unwrap to its cause")
	}
	if want := "queue: 1 of 3 messages not sent: context canceled"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
}
