// Package awsqueue gives an AWS function the SQS sender of the
// verification queue. Only the functions that send to it (verify-bucket,
// verify-existing-bucket, reverify-scheduler) import it, and only they
// link SQS.
package awsqueue

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/bucketlink/bucketlink/shared/awsapp"
	"github.com/bucketlink/bucketlink/shared/queue/sqsqueue"
)

// New returns the sender to the queue Config.VerifyQueueURL of p (required).
// It makes no call to AWS.
func New(p *awsapp.Parts) (*sqsqueue.Sender, error) {
	url := p.Config().VerifyQueueURL
	if url == "" {
		return nil, fmt.Errorf("awsapp: %s is required by this function", awsapp.EnvVerifyQueueURL)
	}
	s, err := sqsqueue.NewSender(sqs.NewFromConfig(p.AWS()), url, sqsqueue.SenderOptions{})
	if err != nil {
		return nil, fmt.Errorf("awsapp: %s: %w", awsapp.EnvVerifyQueueURL, err)
	}
	return s, nil
}
