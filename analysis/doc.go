// Package analysis turns summaries into decisions: per-request service
// level objectives and goodput (SLO, Goodput), pass/fail checks on a
// summary (Threshold), sweeps over load levels (SweepRow,
// SweepSummary, StopCheck, AutoRates), the knee of a sweep's
// latency-throughput curve (FindKnee, SweepSummary.SetKnees), and cost
// (InstancePrice, TokenPrice, FindBreakEven; docs/planning.md).
//
// It reads records and summaries and does no I/O. The per-request metric
// definitions are stats' (stats.TTFT, stats.TPOT, stats.MaxITL,
// stats.OutputSpeed), so an SLO judges exactly what the summary describes.
// stats owns the data types written to summary.json (stats.Goodput);
// analysis computes them, so stats never imports analysis:
//
//	s := stats.Summarize(recs, run)
//	if len(slos) > 0 {
//		g := analysis.Goodput(recs, slos, s.WindowS)
//		s.Goodput = &g
//	}
//	results, ok := analysis.EvaluateAll(thresholds, s)
//
// The syntax of SLOs and thresholds is documented in
// docs/slo-and-thresholds.md.
package analysis
