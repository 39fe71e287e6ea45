package sagemaker

import (
	"os"
	"testing"
)

// TestMain keeps the AWS SDK's credential chain off the network: tests
// talk to 127.0.0.1 only, and the chain's last resort is the EC2 instance
// metadata service.
func TestMain(m *testing.M) {
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}
