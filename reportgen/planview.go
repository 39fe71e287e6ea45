package reportgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/llmload/llmload/analysis"
)

// The report's planning sections: the knee (every method), the cost (per
// level and at the knee, token- and instance-priced, the break-even) and
// the plan (plan.json, when `llmload plan` wrote one). Their formulas are
// in docs/planning.md; the pages only show what the files hold.

// tableView is a plain table: a header and rows of cells; Left marks
// the columns of text (left-aligned; numbers align right).
type tableView struct {
	Head []string
	Rows [][]string
	Left []bool
}

// left marks columns cols as text.
func left(n int, cols ...int) []bool {
	l := make([]bool, n)
	for _, c := range cols {
		l[c] = true
	}
	return l
}

// kneeView is the Knee section: one table per series.
type kneeView struct {
	Series []kneeSeries
}

type kneeSeries struct {
	Name    string
	Table   tableView
	Suggest string
}

// costView is the Cost section.
type costView struct {
	// Priced tells whether anything is priced; when not, Hint says how.
	Priced    bool
	Prices    []string
	Table     tableView
	Knee      tableView
	BreakEven string
	Notes     []string
}

// planView is the Plan section, from plan.json.
type planView struct {
	Sentence, Reverse string
	Params            [][2]string
	Table             tableView
	Notes             []string
	Warnings          []string
}

// readPlan reads dir/plan.json; nil, nil when there is none.
func readPlan(dir string) (*analysis.Plan, error) {
	b, err := os.ReadFile(filepath.Join(dir, PlanFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p analysis.Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, PlanFile), err)
	}
	if p.SchemaVersion > analysis.PlanSchemaVersion {
		return nil, fmt.Errorf("%s: schema_version %d is newer than this llmload reads (%d)", filepath.Join(dir, PlanFile), p.SchemaVersion, analysis.PlanSchemaVersion)
	}
	return &p, nil
}

// kneeSection shows every method of every knee of ss.
func kneeSection(kind string, ss *analysis.SweepSummary) *kneeView {
	knees := ss.Knees
	if ss.Knee != nil {
		knees = append([]analysis.Knee{*ss.Knee}, knees...)
	}
	if len(knees) == 0 {
		return nil
	}
	v := &kneeView{}
	for _, k := range knees {
		s := kneeSeries{Name: k.Group, Table: tableView{Head: []string{"method", "found", "level", "out tok/s", "E2E p50 (ms)", "TTFT p50 (ms)", "$/1M out (instance)", "how it decided", "levels too coarse"},
			Left: left(9, 0, 1, 2, 7, 8)}}
		for _, m := range k.Methods {
			row := []string{m.Method, "no", "-", "-", "-", "-", "-", m.Detail, "-"}
			if m.Found {
				row[1], row[2], row[3] = "yes", levelLabel(kind, m.Level), trim(m.OutputTokensPerS)
				row[4], row[5] = trim(1000*m.E2EP50), trim(1000*m.TTFTP50)
				if m.CostPer1MOutputTokens != nil {
					row[6] = money(*m.CostPer1MOutputTokens)
				}
			}
			if m.Coarse != "" {
				row[8] = m.Coarse
				if len(m.SuggestLevels) > 0 {
					row[8] += "; add " + levels(kind, m.SuggestLevels)
				}
			}
			s.Table.Rows = append(s.Table.Rows, row)
		}
		if len(k.SuggestLevels) > 0 {
			s.Suggest = fmt.Sprintf("To place the knee, add levels %s (%d levels used).", levels(kind, k.SuggestLevels), k.Levels)
		}
		v.Series = append(v.Series, s)
	}
	return v
}

func levels(kind string, ls []float64) string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = levelLabel(kind, l)
	}
	return strings.Join(out, ", ")
}

// costSection prices every level: the instance cost sweep.json's rows
// carry, and the token cost and break-even of plan.json.
func costSection(kind string, ss *analysis.SweepSummary, p *analysis.Plan) *costView {
	v := &costView{}
	var pc *analysis.CostPlan
	if p != nil {
		pc = p.Cost
	}
	byDir := map[string]analysis.LevelCost{}
	if pc != nil {
		for _, lc := range pc.Levels {
			byDir[lc.Dir] = lc
		}
		if tp := pc.TokenPrice; tp != nil {
			s := fmt.Sprintf("token price %s: $%g input, $%g cached input, $%g output per 1M tokens", tp.ID, tp.InputPer1M, tp.CachedInput(), tp.OutputPer1M)
			if tp.Batch {
				s += fmt.Sprintf(" (batch inference, %s off)", pct(tp.BatchDiscount))
			}
			v.Prices = append(v.Prices, s)
		}
		if ip := pc.InstancePrice; ip != nil {
			v.Prices = append(v.Prices, fmt.Sprintf("instance price: $%g per hour × %g (instances)", ip.PerHour, ip.Instances))
		}
		if pc.BreakEven != nil {
			v.BreakEven = pc.BreakEven.Sentence
		}
		v.Notes = pc.Notes
	}
	if v.BreakEven == "" && ss.BreakEven != nil {
		v.BreakEven = ss.BreakEven.Sentence
	}
	v.Table.Head = []string{"level", "out tok/s", "$/1M out (instance)", "$/request (token)", "of it system prompt", "+ retried", "+ failed", "$/1M out (token)", "$/user-hour (token)", "$/user-hour (instance)"}
	for _, r := range ss.Rows {
		row := []string{levelLabel(kind, r.Level), trim(r.OutputTokensPerS), "-", "-", "-", "-", "-", "-", "-", "-"}
		if r.CostPer1MOutputTokens != nil {
			row[2] = money(*r.CostPer1MOutputTokens)
			v.Priced = true
		}
		if r.TokenCostPerRequest != nil && r.TokenCostPer1MOutputTokens != nil {
			row[3], row[7] = money(*r.TokenCostPerRequest), money(*r.TokenCostPer1MOutputTokens)
			v.Priced = true
		}
		if lc, ok := byDir[r.Dir]; ok {
			if row[2] == "-" && lc.InstanceCostPer1MOutputTokens != nil {
				row[2] = money(*lc.InstanceCostPer1MOutputTokens)
			}
			if t := lc.Token; t != nil {
				row[3], row[4], row[5], row[6] = money(t.CostPerRequest), money(t.SystemPromptPerRequest), money(t.RetriedPerRequest), money(t.FailedPerRequest)
				row[7], row[8] = money(t.CostPer1MOutputTokens), money(t.CostPerUserHour)
			}
			if lc.InstanceCostPerUserHour != nil {
				row[9] = money(*lc.InstanceCostPerUserHour)
			}
			v.Priced = true
		}
		v.Table.Rows = append(v.Table.Rows, row)
	}
	if ss.Knee != nil {
		v.Knee.Head = []string{"knee method", "level", "out tok/s", "$/1M out (instance)"}
		v.Knee.Left = left(4, 0, 1)
		for _, m := range ss.Knee.Methods {
			if !m.Found || m.CostPer1MOutputTokens == nil {
				continue
			}
			v.Knee.Rows = append(v.Knee.Rows, []string{m.Method, levelLabel(kind, m.Level), trim(m.OutputTokensPerS), money(*m.CostPer1MOutputTokens)})
		}
	}
	return v
}

// planSection shows plan.json.
func planSection(kind string, p *analysis.Plan) *planView {
	if p == nil {
		return nil
	}
	v := &planView{Sentence: p.Answer.Sentence, Warnings: p.Warnings}
	if p.Reverse != nil {
		v.Reverse = p.Reverse.Sentence
	}
	quota := func(q float64) string {
		if q == 0 {
			return "none"
		}
		return strconv.FormatFloat(q, 'f', -1, 64) + " per minute"
	}
	user := fmt.Sprintf("waits for each response, then thinks %s s", trim(p.ThinkTimeS))
	if p.RequestsPerUserPerMin > 0 {
		user = fmt.Sprintf("sends %s requests per minute", trim(p.RequestsPerUserPerMin))
	}
	targets := strings.Join(p.Targets, ", ")
	if targets == "" {
		targets = "none (a level counts when at most 5% of its requests fail)"
	}
	v.Params = [][2]string{{"RPM quota", quota(p.QuotaRPM)}, {"TPM quota", quota(p.QuotaTPM)}, {"targets", targets},
		{"a user", user}, {"headroom", pct(p.Headroom)}}
	v.Table.Left = left(13, 0, 1, 12)
	v.Table.Head = []string{"level", "meets targets", "req/s", "response p95 (s)", "attempts/request", "tokens/request", "requests/user/min", "users carried", "users by RPM", "users by TPM", "users by endpoint", "users", "binding"}
	opt := func(f *float64) string {
		if f == nil {
			return "-"
		}
		return trim(*f)
	}
	for _, l := range p.Levels {
		meets := "no"
		if l.MeetsTargets {
			meets = "yes"
		}
		label := l.Dir
		if kind != "" && l.Level > 0 {
			label = levelLabel(kind, l.Level)
		}
		v.Table.Rows = append(v.Table.Rows, []string{label, meets, trim(l.RequestsPerS), trim(l.ResponseTimeP95S), trim(l.AttemptsPerRequest),
			trim(l.TokensPerRequest), trim(l.RequestsPerUserPerMin), trim(l.UsersCarried), opt(l.UsersByRPM), opt(l.UsersByTPM),
			trim(l.UsersByEndpoint), trim(l.Users), l.Binding})
		for _, n := range l.Notes {
			v.Notes = append(v.Notes, l.Dir+": "+n)
		}
	}
	return v
}

// money writes an amount in dollars with about four significant digits
// and never an exponent: $18, $0.693, $0.0000789.
func money(v float64) string {
	a := math.Abs(v)
	if a == 0 || a >= 1 {
		return "$" + trim(v)
	}
	s := strconv.FormatFloat(v, 'f', min(3-int(math.Floor(math.Log10(a))), 10), 64)
	return "$" + strings.TrimRight(strings.TrimRight(s, "0"), ".")
}
