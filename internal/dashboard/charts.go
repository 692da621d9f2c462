package dashboard

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/pfmsync/pfmsync/internal/reporting"
)

// Chart geometry, in SVG user units (the SVG scales to its container).
const (
	chartWidth  = 720.0
	chartHeight = 240.0
	plotLeft    = 84.0
	plotRight   = 8.0
	plotTop     = 10.0
	plotBottom  = 26.0
)

// tick is an axis label at a position.
type tick struct {
	Pos   float64
	Label string
}

// chartPoint is a marked point of the line chart, with its exact value.
type chartPoint struct {
	X, Y  float64
	Kind  string // first, last, min, max
	Day   string
	Value string // exact, as the view gives it
	Label string // formatted
}

// lineChart is the net worth over time.
type lineChart struct {
	Width, Height float64
	Path, Area    string
	Markers       []chartPoint
	YTicks        []tick
	XTicks        []tick
	ZeroY         float64
	HasZero       bool
	Currency      string
	Days          int
	First, Last   chartPoint
	Min, Max      chartPoint
	PlotLeft      float64
	PlotRight     float64
}

// newLineChart plots the days of one currency (the latest day's).
func newLineChart(days []reporting.NetWorthDay) *lineChart {
	if len(days) == 0 {
		return nil
	}
	currency := days[len(days)-1].Currency
	var pts []reporting.NetWorthDay
	for _, d := range days {
		if d.Currency == currency {
			pts = append(pts, d)
		}
	}
	minV, maxV := pts[0].NetWorth, pts[0].NetWorth
	minI, maxI := 0, 0
	for i, p := range pts {
		if p.NetWorth.LessThan(minV) {
			minV, minI = p.NetWorth, i
		}
		if p.NetWorth.GreaterThan(maxV) {
			maxV, maxI = p.NetWorth, i
		}
	}
	lo, hi := niceRange(minV.InexactFloat64(), maxV.InexactFloat64())
	c := &lineChart{Width: chartWidth, Height: chartHeight, Currency: currency, Days: len(pts), PlotLeft: plotLeft, PlotRight: chartWidth - plotRight}
	first, last := pts[0].Day, pts[len(pts)-1].Day
	span := last.Sub(first).Hours() / 24
	x := func(d time.Time) float64 {
		if span == 0 {
			return (plotLeft + chartWidth - plotRight) / 2
		}
		return plotLeft + (chartWidth-plotLeft-plotRight)*d.Sub(first).Hours()/24/span
	}
	y := func(v float64) float64 {
		return plotTop + (chartHeight-plotTop-plotBottom)*(hi-v)/(hi-lo)
	}
	var path strings.Builder
	for i, p := range pts {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(p.Day), y(p.NetWorth.InexactFloat64()))
	}
	c.Path = strings.TrimSpace(path.String())
	base := y(math.Max(lo, math.Min(0, hi)))
	c.Area = fmt.Sprintf("%s L%.1f %.1f L%.1f %.1f Z", c.Path, x(last), base, x(first), base)
	if lo < 0 && hi > 0 {
		c.HasZero, c.ZeroY = true, y(0)
	}
	point := func(i int, kind string) chartPoint {
		p := pts[i]
		return chartPoint{
			X: x(p.Day), Y: y(p.NetWorth.InexactFloat64()), Kind: kind,
			Day: p.Day.Format(time.DateOnly), Value: exactString(p.NetWorth), Label: formatMoney(p.NetWorth, currency),
		}
	}
	c.First, c.Last, c.Min, c.Max = point(0, "first"), point(len(pts)-1, "last"), point(minI, "min"), point(maxI, "max")
	c.Markers = []chartPoint{c.Min, c.Max, c.First, c.Last}
	for _, v := range ticks(lo, hi, 4) {
		c.YTicks = append(c.YTicks, tick{Pos: y(v), Label: compactMoney(v, currency)})
	}
	c.XTicks = []tick{{Pos: x(first), Label: first.Format("Jan 2006")}, {Pos: x(last), Label: last.Format("Jan 2, 2006")}}
	if span > 120 {
		mid := first.Add(last.Sub(first) / 2)
		c.XTicks = append(c.XTicks[:1], tick{Pos: x(mid), Label: mid.Format("Jan 2006")}, c.XTicks[1])
	}
	return c
}

// bar is one bar of a bar chart, with its exact value.
type bar struct {
	X, Y, W, H float64
	Kind       string // income or spending
	Month      string // yyyy-mm
	Amount     string // exact
	Label      string // formatted
}

// barChart is income and spending by month.
type barChart struct {
	Width, Height float64
	Bars          []bar
	YTicks        []tick
	XTicks        []tick
	PlotLeft      float64
	PlotRight     float64
	Baseline      float64
	Currency      string
}

// newCashFlowChart draws income and spending side by side for each month
// of one currency (the latest month's).
func newCashFlowChart(months []reporting.CashFlowMonth) *barChart {
	if len(months) == 0 {
		return nil
	}
	currency := months[len(months)-1].Currency
	var ms []reporting.CashFlowMonth
	maxV := 0.0
	for _, m := range months {
		if m.Currency != currency {
			continue
		}
		ms = append(ms, m)
		maxV = math.Max(maxV, math.Max(m.Income.InexactFloat64(), m.Spending.InexactFloat64()))
	}
	_, hi := niceRange(0, maxV)
	c := &barChart{Width: chartWidth, Height: chartHeight, PlotLeft: plotLeft, PlotRight: chartWidth - plotRight, Currency: currency}
	c.Baseline = chartHeight - plotBottom
	h := func(v float64) float64 {
		if v <= 0 {
			return 0
		}
		return (chartHeight - plotTop - plotBottom) * v / hi
	}
	slot := (chartWidth - plotLeft - plotRight) / float64(len(ms))
	w := math.Min(28, slot*0.36)
	for i, m := range ms {
		x0 := plotLeft + slot*float64(i) + slot/2
		month := m.Month.Format("2006-01")
		for j, kv := range []struct {
			kind string
			v    decimal.Decimal
		}{{"income", m.Income}, {"spending", m.Spending}} {
			bh := h(kv.v.InexactFloat64())
			c.Bars = append(c.Bars, bar{
				X: x0 - w - 1 + float64(j)*(w+2), Y: c.Baseline - bh, W: w, H: bh,
				Kind: kv.kind, Month: month, Amount: exactString(kv.v), Label: formatMoney(kv.v, currency),
			})
		}
		c.XTicks = append(c.XTicks, tick{Pos: x0, Label: monthLabel(m.Month, len(ms))})
	}
	for _, v := range ticks(0, hi, 4) {
		c.YTicks = append(c.YTicks, tick{Pos: c.Baseline - h(v), Label: compactMoney(v, currency)})
	}
	return c
}

// monthLabel is "Mar" (with the year in January), short enough for 12 bars.
func monthLabel(m time.Time, n int) string {
	if m.Month() == time.January || n <= 4 {
		return m.Format("Jan 06")
	}
	return m.Format("Jan")
}

// categoryBar is one category of this month's spending.
type categoryBar struct {
	Category    string
	DisplayName string
	Amount      string // exact
	Label       string // formatted
	Count       int64
	Width       float64 // percent of the largest
}

// newCategoryBars scales each category's spending to the largest.
func newCategoryBars(cats []reporting.CategorySpending) []categoryBar {
	maxV := decimal.Zero
	for _, c := range cats {
		if c.Amount.GreaterThan(maxV) {
			maxV = c.Amount
		}
	}
	out := make([]categoryBar, 0, len(cats))
	for _, c := range cats {
		w := 0.0
		if maxV.IsPositive() && c.Amount.IsPositive() {
			w = c.Amount.Div(maxV).InexactFloat64() * 100
		}
		out = append(out, categoryBar{
			Category: c.Category, DisplayName: c.DisplayName, Amount: exactString(c.Amount),
			Label: formatMoney(c.Amount, c.Currency), Count: c.Transactions, Width: w,
		})
	}
	return out
}

// niceRange widens [lo, hi] to round numbers, always including 0 when the
// values do not all sit far from it.
func niceRange(lo, hi float64) (float64, float64) {
	if lo > 0 && lo < hi/2 {
		lo = 0
	}
	if hi < 0 && hi > lo/2 {
		hi = 0
	}
	if hi == lo {
		if hi == 0 {
			return 0, 100
		}
		lo, hi = lo-math.Abs(lo)*0.1, hi+math.Abs(hi)*0.1
	}
	step := niceStep((hi - lo) / 4)
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step
}

// niceStep rounds a step up to 1, 2, 2.5 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// ticks returns about n+1 round values from lo to hi.
func ticks(lo, hi float64, n int) []float64 {
	step := niceStep((hi - lo) / float64(n))
	var out []float64
	for v := lo; v <= hi+step/1000; v += step {
		out = append(out, math.Round(v/step)*step)
	}
	return out
}
