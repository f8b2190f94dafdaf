package kbuild

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	in := `# comment
CONFIG_A=y

CONFIG_B="str"
# CONFIG_C is not set
CONFIG_D=42
`
	opts, err := ParseConfig(strings.NewReader(in), "frag")
	if err != nil {
		t.Fatal(err)
	}
	want := []Option{{"CONFIG_A", "y", "frag:2"}, {"CONFIG_B", `"str"`, "frag:4"}, {"CONFIG_C", "n", "frag:5"}, {"CONFIG_D", "42", "frag:6"}}
	if len(opts) != len(want) {
		t.Fatalf("got %v", opts)
	}
	for i := range want {
		if opts[i] != want[i] {
			t.Errorf("opt %d = %+v, want %+v", i, opts[i], want[i])
		}
	}
	for _, bad := range []string{"CONFIG_X", "CONFIG_X=", "FOO=y"} {
		if _, err := ParseConfig(strings.NewReader(bad), "f"); err == nil {
			t.Errorf("ParseConfig(%q) succeeded", bad)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	final := []Option{{Name: "CONFIG_A", Value: "y"}, {Name: "CONFIG_D", Value: "42"}}
	tests := []struct {
		name    string
		req     []Option
		wantErr string
	}{
		{"all set", []Option{{"CONFIG_A", "y", "f:1"}, {"CONFIG_D", "42", "f:2"}}, ""},
		{"unset requested and absent", []Option{{"CONFIG_C", "n", "f:1"}}, ""},
		{"dropped", []Option{{"CONFIG_KASAN", "y", "debug.config:3"}}, "CONFIG_KASAN=y requested at debug.config:3, got n"},
		{"wrong value", []Option{{"CONFIG_D", "8", "f:2"}}, "CONFIG_D=8 requested at f:2, got 42"},
		{"should be unset", []Option{{"CONFIG_A", "n", "f:9"}}, "CONFIG_A=n requested at f:9, got y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckConfig(tt.req, final)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
