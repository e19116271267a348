// Package awsevents gives an AWS function the publisher of verification
// changes: the EventBridge bus Config.EventBus, or only a log line when it
// is empty. Only the functions that publish (test, verify-worker) import
// it, and only they link EventBridge.
package awsevents

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/changeevents"
	"github.com/bucketlink/bucketlink/shared/changeevents/ebpub"
)

// New returns the publisher of the function of p. It makes no call to AWS.
func New(p *awsapp.Parts) (changeevents.Publisher, error) {
	bus := p.Config().EventBus
	if bus == "" {
		return changeevents.LogPublisher{Logger: p.Logger()}, nil
	}
	pub, err := ebpub.New(eventbridge.NewFromConfig(p.AWS()), bus)
	if err != nil {
		return nil, fmt.Errorf("awsapp: %s: %w", awsapp.EnvEventBus, err)
	}
	return pub, nil
}
