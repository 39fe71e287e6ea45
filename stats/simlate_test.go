package stats

import (
	"strings"
	"testing"
)

func TestSimLateWarning(t *testing.T) {
	for _, tc := range []struct {
		si   *SimInfo
		warn bool
	}{
		{nil, false},        // not a simulator run
		{&SimInfo{}, false}, // nothing delivered
		{&SimInfo{DeliveredTokens: 1000, LateTokens: 10}, false}, // 1%: at the limit
		{&SimInfo{DeliveredTokens: 1000, LateTokens: 11, LateRequests: 2, MaxLateS: 0.012}, true},
	} {
		w := SimLateWarning(tc.si)
		if (w != "") != tc.warn {
			t.Errorf("%+v: warning %q", tc.si, w)
		}
		if tc.warn && (!strings.Contains(w, "11 of 1000 tokens (1.1%), in 2 responses") || !strings.Contains(w, "12 ms")) {
			t.Errorf("warning %q", w)
		}
	}
	s := Summarize(nil, RunInfo{Sim: &SimInfo{DeliveredTokens: 100, LateTokens: 50}})
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "simulator fell behind") {
		t.Errorf("summary warnings %q", s.Warnings)
	}
}
