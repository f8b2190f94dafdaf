package cell

import (
	"testing"

	"github.com/bpfstor/bpfstor/harness/analysis"
	"github.com/bpfstor/bpfstor/harness/stats"
)

func TestCells(t *testing.T) {
	sp := stats.Spread{N: 3, Median: 12345, Min: 12000, Max: 13050}
	for _, tt := range []struct{ got, want string }{
		{MD("a|b\nc"), `a\|b c`},
		{OrDash(""), "—"}, {OrDash("x"), "x"},
		{Short("0123456789abcdef"), "0123456789ab"}, {Short(""), "—"},
		{SpreadUs(sp), "12.3 [12.0–13.1]"},
		{SpreadIOPS(sp), "12345 [12000–13050]"},
		{Ratio(analysis.Ratio{}), "—"},
		{Ratio(analysis.Ratio{Spread: stats.Spread{N: 3, Median: 1.5, Min: 1.4, Max: 1.6}, Paired: true}), "1.50x [1.40–1.60]"},
		{Ratio(analysis.Ratio{Spread: stats.Spread{N: 1, Median: 1.5, Min: 1.5, Max: 1.5}}), "1.50x (ratio of medians)"},
	} {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}
