package record

// Sample is one line of timeline.jsonl: the runner's state at one instant,
// taken every sampling period (250 ms by default) and once at the end.
type Sample struct {
	SchemaVersion int `json:"schema_version"`
	// T is seconds since the run's start.
	T float64 `json:"t_s"`
	// InFlight is the number of requests sent and not yet ended.
	InFlight int64 `json:"in_flight"`
	// Sent and Ended count requests so far, warm-up included.
	Sent  int64 `json:"sent"`
	Ended int64 `json:"ended"`
	// TargetLoad is what the schedule aims for now: workers (closed loop,
	// batch size) or requests per second (rate mode).
	TargetLoad float64 `json:"target_load"`
}
