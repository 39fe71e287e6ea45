package sim

import (
	"strconv"
	"time"
)

// Default Bedrock on-demand quotas from CALIBRATION.md (Llama 3.3 70B,
// us-west-2): requests and tokens per minute.
const (
	BedrockDefaultRPM = 800
	BedrockDefaultTPM = 600_000
)

// retryAfterSeconds formats a Retry-After header value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second)))
}
