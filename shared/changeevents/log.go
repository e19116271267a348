package changeevents

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// LogPublisher writes each change as one log line at level Info, with the
// message DetailType and the attributes source, detail_type and detail
// (the change's JSON). Give it a logger with a slog.JSONHandler and each
// line is one JSON object:
//
//	{"time":"…","level":"INFO","msg":"Storage Config Verification Changed",
//	 "source":"bucketlink","detail_type":"…","detail":{"organization_id":1,…}}
type LogPublisher struct {
	// Logger receives the lines; nil means slog.Default().
	Logger *slog.Logger
}

// Publish logs c.
func (p LogPublisher) Publish(ctx context.Context, c Change) error {
	detail, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("log change of %s: encode: %w", c.UID, err)
	}
	l := p.Logger
	if l == nil {
		l = slog.Default()
	}
	l.LogAttrs(ctx, slog.LevelInfo, DetailType, slog.String("source", Source),
		slog.String("detail_type", DetailType), slog.Any("detail", json.RawMessage(detail)))
	return nil
}
