package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Knee methods, the names KneeMethod.Method takes.
const (
	KneeTarget       = "target"        // the best level whose p95 meets the SLOs
	KneeCurvature    = "curvature"     // Kneedle on throughput against level
	KneeMarginalE2E  = "marginal_e2e"  // Δ throughput ÷ Δ E2E p50
	KneeMarginalTTFT = "marginal_ttft" // Δ throughput ÷ Δ TTFT p50
)

// Knee parameters, documented in docs/metrics.md ("The knee").
const (
	// KneeMaxErrorRate is the highest error rate at which a level can meet
	// the target: p95s describe successes only, and a level that fails
	// more than this does not carry its load.
	KneeMaxErrorRate = 0.05
	// KneedleMinDifference is the least height of Kneedle's difference
	// curve (normalized throughput − normalized level) that counts as a
	// knee; below it the curve is about a straight line.
	KneedleMinDifference = 0.1
	// DefaultMarginalRatio is the marginal method's ratio: the knee is the
	// last level before a segment whose throughput gained per second of
	// added latency falls under this share of the first segment's.
	DefaultMarginalRatio = 0.25
	// KneeCoarseRatio is the level ratio above which two neighbouring
	// levels are too far apart to place a knee between them.
	KneeCoarseRatio = 1.5
)

// KneeOptions configure FindKnee.
type KneeOptions struct {
	// SLOs are the target method's objectives (the run's --slo); those on
	// ttft, tpot and e2e are judged at the level's p95. None: the method
	// is skipped.
	SLOs []SLO
	// MarginalRatio is the marginal methods' ratio; 0 means
	// DefaultMarginalRatio.
	MarginalRatio float64
	// Integer levels (concurrency) round suggested levels to whole numbers.
	Integer bool
}

// Knee is the knee of one latency-throughput curve, found by every method.
type Knee struct {
	// Group is the series (SweepRow.Group) in an experiment; "" otherwise.
	Group string `json:"group,omitempty"`
	// Levels is the number of levels the methods used: rows with a
	// success, an auto sweep's throughput probes left out.
	Levels  int          `json:"levels"`
	Methods []KneeMethod `json:"methods"`
	// SuggestLevels joins every method's suggestions, sorted.
	SuggestLevels []float64 `json:"suggest_levels,omitempty"`
}

// KneeMethod is what one method found.
type KneeMethod struct {
	Method string `json:"method"`
	// Found tells whether the method placed the knee at a level.
	Found bool `json:"found"`
	// Level, Dir and the numbers of the level at the knee; absent when
	// not found.
	Level            float64 `json:"level,omitempty"`
	Dir              string  `json:"dir,omitempty"`
	OutputTokensPerS float64 `json:"output_tokens_per_s,omitempty"`
	E2EP50           float64 `json:"e2e_p50_s,omitempty"`
	TTFTP50          float64 `json:"ttft_p50_s,omitempty"`
	// CostPer1MOutputTokens is the knee level's cost per 1M output tokens
	// (SweepRow's); absent without a price.
	CostPer1MOutputTokens *float64 `json:"cost_per_1m_output_tokens,omitempty"`
	// Detail says in words how the method decided, with its numbers; when
	// the method could not run, why.
	Detail string `json:"detail"`
	// Coarse says why the levels are too coarse to place the knee (it may
	// lie between two levels far apart, or beyond the last); "" when they
	// are fine enough. SuggestLevels are levels to add.
	Coarse        string    `json:"coarse,omitempty"`
	SuggestLevels []float64 `json:"suggest_levels,omitempty"`
}

// kneePoint is one usable level.
type kneePoint struct {
	row SweepRow
	x   float64 // level
	y   float64 // output tokens/s
}

// kneePoints keeps the rows a knee can use, sorted by level: a positive
// finite level and throughput, at least one success, no throughput probe.
func kneePoints(rows []SweepRow) []kneePoint {
	var ps []kneePoint
	for _, r := range rows {
		if r.Probe == "throughput" || r.Succeeded <= 0 || !finite(r.Level) || r.Level <= 0 ||
			!finite(r.OutputTokensPerS) || r.OutputTokensPerS < 0 {
			continue
		}
		ps = append(ps, kneePoint{row: r, x: r.Level, y: r.OutputTokensPerS})
	}
	slices.SortStableFunc(ps, func(a, b kneePoint) int { return cmp.Compare(a.x, b.x) })
	return ps
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// FindKnee finds the knee of the curve of rows (one series) by each
// method: target, curvature, marginal_e2e, marginal_ttft. It never fails:
// a method that cannot run says why in its Detail.
func FindKnee(rows []SweepRow, o KneeOptions) Knee {
	ps := kneePoints(rows)
	if o.MarginalRatio <= 0 || !finite(o.MarginalRatio) {
		o.MarginalRatio = DefaultMarginalRatio
	}
	k := Knee{Levels: len(ps)}
	if len(rows) > 0 {
		k.Group = rows[0].Group
	}
	k.Methods = []KneeMethod{
		kneeTarget(ps, o),
		kneeCurvature(ps, o),
		kneeMarginal(KneeMarginalE2E, "E2E", func(r SweepRow) float64 { return r.E2EP50 }, ps, o),
		kneeMarginal(KneeMarginalTTFT, "TTFT", func(r SweepRow) float64 { return r.TTFTP50 }, ps, o),
	}
	for _, m := range k.Methods {
		for _, l := range m.SuggestLevels {
			if !slices.Contains(k.SuggestLevels, l) {
				k.SuggestLevels = append(k.SuggestLevels, l)
			}
		}
	}
	slices.Sort(k.SuggestLevels)
	return k
}

// SetKnees computes the sweep's knee (Knee), or one per series (Knees)
// when its rows belong to several groups. opts gives the options of a
// group. With fewer than two rows it leaves both empty.
func (ss *SweepSummary) SetKnees(opts func(group string) KneeOptions) {
	ss.Knee, ss.Knees = nil, nil
	if len(ss.Rows) < 2 {
		return
	}
	var groups []string
	for _, r := range ss.Rows {
		if !slices.Contains(groups, r.Group) {
			groups = append(groups, r.Group)
		}
	}
	for _, g := range groups {
		var rows []SweepRow
		for _, r := range ss.Rows {
			if r.Group == g {
				rows = append(rows, r)
			}
		}
		o := KneeOptions{}
		if opts != nil {
			o = opts(g)
		}
		o.Integer = ss.Kind == SweepConcurrency
		k := FindKnee(rows, o)
		if len(groups) == 1 {
			ss.Knee = &k
			return
		}
		ss.Knees = append(ss.Knees, k)
	}
}

// at fills the knee's level from p.
func (m *KneeMethod) at(p kneePoint) {
	m.Found, m.Level, m.Dir = true, p.x, p.row.Dir
	m.OutputTokensPerS, m.E2EP50, m.TTFTP50 = p.y, orZero(p.row.E2EP50), orZero(p.row.TTFTP50)
	if c := p.row.CostPer1MOutputTokens; c != nil && finite(*c) {
		cost := *c
		m.CostPer1MOutputTokens = &cost
	}
}

// orZero is v, or 0 when v is NaN or infinite (JSON has neither).
func orZero(v float64) float64 {
	if !finite(v) {
		return 0
	}
	return v
}

// lvl writes a level: "16", "4.56".
func lvl(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// round rounds a suggested level: whole numbers for concurrency, three
// significant digits for rates.
func (o KneeOptions) round(v float64) float64 {
	if o.Integer {
		return math.Max(1, math.Round(v))
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return r
}

// suggest adds the levels vs (rounded) that are not levels already.
func (m *KneeMethod) suggest(ps []kneePoint, o KneeOptions, vs ...float64) {
	for _, v := range vs {
		v = o.round(v)
		if !(v > 0) || slices.ContainsFunc(ps, func(p kneePoint) bool { return p.x == v }) || slices.Contains(m.SuggestLevels, v) {
			continue
		}
		m.SuggestLevels = append(m.SuggestLevels, v)
	}
	slices.Sort(m.SuggestLevels)
}

// between flags a knee at ps[i] whose neighbours are more than
// KneeCoarseRatio away, and suggests the midpoints of those gaps.
func (m *KneeMethod) between(ps []kneePoint, i int, o KneeOptions) {
	var gaps []string
	var mids []float64
	if i > 0 && ps[i].x > KneeCoarseRatio*ps[i-1].x {
		gaps = append(gaps, lvl(ps[i-1].x)+"–"+lvl(ps[i].x))
		mids = append(mids, (ps[i-1].x+ps[i].x)/2)
	}
	if i+1 < len(ps) && ps[i+1].x > KneeCoarseRatio*ps[i].x {
		gaps = append(gaps, lvl(ps[i].x)+"–"+lvl(ps[i+1].x))
		mids = append(mids, (ps[i].x+ps[i+1].x)/2)
	}
	if len(gaps) == 0 {
		return
	}
	m.Coarse = fmt.Sprintf("the knee lies within %s, levels more than %s× apart", strings.Join(gaps, " or "), lvl(KneeCoarseRatio))
	m.suggest(ps, o, mids...)
}

// beyond flags a knee at or beyond the last level.
func (m *KneeMethod) beyond(ps []kneePoint, o KneeOptions, why string) {
	last := ps[len(ps)-1].x
	m.Coarse = why + fmt.Sprintf("; the knee is at or beyond the last level %s", lvl(last))
	m.suggest(ps, o, 1.5*last, 2*last)
}

// sloValue is the level's p95 of an SLO's metric, and what it is called;
// ok is false when the row has none. Rows written before the p95s existed
// fall back to p99 (stricter).
func sloValue(r SweepRow, metric string) (v float64, name string, ok bool) {
	pick := func(p95, p99 float64) (float64, string, bool) {
		switch {
		case p95 > 0 && finite(p95):
			return p95, "p95", true
		case p99 > 0 && finite(p99):
			return p99, "p99", true
		}
		return 0, "", false
	}
	switch metric {
	case "ttft":
		return pick(r.TTFTP95, r.TTFTP99)
	case "e2e":
		return pick(r.E2EP95, r.E2EP99)
	case "tpot":
		return pick(r.TPOTP95, 0)
	}
	return 0, "", false
}

// kneeTarget: the highest-throughput level whose p95 of every ttft, tpot
// and e2e SLO meets it, with an error rate of at most KneeMaxErrorRate.
func kneeTarget(ps []kneePoint, o KneeOptions) KneeMethod {
	m := KneeMethod{Method: KneeTarget}
	var used, unused []string
	var slos []SLO
	for _, s := range o.SLOs {
		switch s.metric {
		case "ttft", "tpot", "e2e":
			slos, used = append(slos, s), append(used, s.String())
		default:
			unused = append(unused, s.String())
		}
	}
	switch {
	case len(slos) == 0 && len(unused) > 0:
		m.Detail = fmt.Sprintf("skipped: the SLOs (%s) judge no metric the rows carry at p95 (ttft, tpot, e2e)", strings.Join(unused, ", "))
		return m
	case len(slos) == 0:
		m.Detail = "skipped: no --slo on ttft, tpot or e2e to set the target (e.g. --slo ttft<=500ms)"
		return m
	case len(ps) == 0:
		m.Detail = "skipped: no level had a successful request"
		return m
	}
	target := strings.Join(used, " and ") + " at p95"
	if len(unused) > 0 {
		target += " (not judged: " + strings.Join(unused, ", ") + ")"
	}
	meets := func(p kneePoint) (bool, string) {
		if p.row.ErrorRate > KneeMaxErrorRate {
			return false, "error rate " + pct(p.row.ErrorRate)
		}
		for _, s := range slos {
			v, name, ok := sloValue(p.row, s.metric)
			if !ok {
				return false, "no " + s.metric
			}
			if !s.op.holds(v, s.limit) {
				return false, s.metric + " " + name + " " + formatIn(v, s.unit)
			}
		}
		return true, ""
	}
	best := -1
	for i, p := range ps {
		if ok, _ := meets(p); ok && (best < 0 || p.y > ps[best].y) {
			best = i
		}
	}
	if best < 0 {
		_, why := meets(ps[0])
		m.Detail = fmt.Sprintf("no level met %s; the lowest, %s, had %s", target, lvl(ps[0].x), why)
		m.Coarse = "the knee is below the lowest level"
		if !o.Integer || ps[0].x >= 2 {
			m.suggest(ps, o, ps[0].x/2)
		}
		return m
	}
	m.at(ps[best])
	m.Detail = fmt.Sprintf("level %s has the highest throughput (%s output tok/s) of the levels meeting %s", lvl(ps[best].x), fmtNum(ps[best].y), target)
	// The first level above it that fails bounds the knee.
	for j := best + 1; j < len(ps); j++ {
		if ok, why := meets(ps[j]); !ok {
			m.Detail += fmt.Sprintf("; level %s fails (%s)", lvl(ps[j].x), why)
			if ps[j].x > KneeCoarseRatio*ps[best].x {
				m.Coarse = fmt.Sprintf("the target is crossed within %s–%s, levels more than %s× apart", lvl(ps[best].x), lvl(ps[j].x), lvl(KneeCoarseRatio))
				m.suggest(ps, o, (ps[best].x+ps[j].x)/2)
			}
			return m
		}
	}
	m.beyond(ps, o, "every level from "+lvl(ps[best].x)+" up met the target")
	return m
}

// kneeCurvature is Kneedle (Satopää, Albrecht, Irwin, Raghavan 2011,
// "Finding a 'Kneedle' in a Haystack") offline, for a concave increasing
// curve: normalize level and throughput to [0, 1] by their minimum and
// maximum, take the difference curve d = y_n − x_n, and put the knee at
// its maximum, if that is at least KneedleMinDifference. A straight line
// has d = 0 everywhere; a curve that saturates early has d near 1.
func kneeCurvature(ps []kneePoint, o KneeOptions) KneeMethod {
	m := KneeMethod{Method: KneeCurvature}
	if len(ps) < 3 {
		m.Detail = fmt.Sprintf("skipped: Kneedle needs at least 3 levels with successes, the sweep has %d", len(ps))
		return m
	}
	x0, x1 := ps[0].x, ps[len(ps)-1].x
	y0, y1 := ps[0].y, ps[0].y
	for _, p := range ps {
		y0, y1 = math.Min(y0, p.y), math.Max(y1, p.y)
	}
	if x1 == x0 {
		m.Detail = "skipped: every level is the same"
		return m
	}
	if y1 == y0 {
		m.Detail = fmt.Sprintf("skipped: throughput is the same (%s output tok/s) at every level: no curve to bend", fmtNum(y0))
		return m
	}
	best, dmax := 0, math.Inf(-1)
	for i, p := range ps {
		d := (p.y-y0)/(y1-y0) - (p.x-x0)/(x1-x0)
		if d > dmax {
			best, dmax = i, d
		}
	}
	if dmax < KneedleMinDifference {
		m.Detail = fmt.Sprintf("no knee: the normalized difference curve peaks at %.3f, under %s (throughput rises about in proportion to the level, or faster)",
			math.Max(dmax, 0), lvl(KneedleMinDifference))
		m.beyond(ps, o, "throughput was still rising")
		return m
	}
	m.at(ps[best])
	m.Detail = fmt.Sprintf("the normalized difference curve (throughput − level) peaks at %.3f at level %s (%s output tok/s)", dmax, lvl(ps[best].x), fmtNum(ps[best].y))
	m.between(ps, best, o)
	return m
}

// kneeMarginal puts the knee at the last level before the first segment
// whose efficiency — output tokens/s gained per second of latency (lat)
// added — falls under o.MarginalRatio of the reference: the first
// segment's, or, when latency did not rise there (+∞), the first finite
// one. A segment whose throughput did not rise has efficiency 0; one whose
// throughput rose while latency did not, +∞.
func kneeMarginal(name, latName string, lat func(SweepRow) float64, ps []kneePoint, o KneeOptions) KneeMethod {
	m := KneeMethod{Method: name}
	var qs []kneePoint
	for _, p := range ps {
		if l := lat(p.row); l > 0 && finite(l) {
			qs = append(qs, p)
		}
	}
	if len(qs) < 2 {
		m.Detail = fmt.Sprintf("skipped: needs at least 2 levels with a %s p50, the sweep has %d", latName, len(qs))
		return m
	}
	eff := make([]float64, len(qs)) // eff[i]: segment qs[i-1] → qs[i]
	refAt := 0                      // the reference segment; 0: none
	for i := 1; i < len(qs); i++ {
		dy, dl := qs[i].y-qs[i-1].y, lat(qs[i].row)-lat(qs[i-1].row)
		switch {
		case dy <= 0:
			eff[i] = 0
		case dl <= 0:
			eff[i] = math.Inf(1)
		default:
			eff[i] = dy / dl
		}
		if refAt == 0 && !math.IsInf(eff[i], 1) {
			refAt = i
		}
	}
	unit := "output tok/s per s of " + latName + " p50"
	if refAt > 1 {
		m.Detail = fmt.Sprintf("%s p50 did not rise up to level %s, so the reference is the segment %s–%s; ",
			latName, lvl(qs[refAt-1].x), lvl(qs[refAt-1].x), lvl(qs[refAt].x))
	}
	knee := func(i int) KneeMethod {
		m.at(qs[i])
		m.between(qs, i, o)
		if m.Coarse == "" && i == 0 {
			m.Coarse = "the knee is at or below the lowest level"
			if !o.Integer || qs[0].x >= 2 {
				m.suggest(qs, o, qs[0].x/2)
			}
		}
		return m
	}
	switch {
	case refAt == 0:
		m.at(qs[len(qs)-1])
		m.Detail += fmt.Sprintf("%s p50 never rose while throughput did", latName)
		m.beyond(qs, o, "throughput rose at no latency cost")
		return m
	case eff[refAt] == 0:
		m.Detail += fmt.Sprintf("throughput did not rise from level %s to %s", lvl(qs[refAt-1].x), lvl(qs[refAt].x))
		return knee(refAt - 1)
	}
	ref := eff[refAt]
	for i := refAt + 1; i < len(qs); i++ {
		if eff[i] < o.MarginalRatio*ref {
			m.Detail += fmt.Sprintf("from level %s to %s throughput gained %s %s, under %s of the reference %s",
				lvl(qs[i-1].x), lvl(qs[i].x), fmtNum(eff[i]), unit, pct(o.MarginalRatio), fmtNum(ref))
			return knee(i - 1)
		}
	}
	m.at(qs[len(qs)-1])
	m.Detail += fmt.Sprintf("every segment gained at least %s of the reference %s %s", pct(o.MarginalRatio), fmtNum(ref), unit)
	m.beyond(qs, o, "efficiency never fell under the ratio")
	return m
}
