package scenarios

import (
	"strings"
	"testing"
)

func TestParseSeed(t *testing.T) {
	tests := []struct {
		in      string
		want    uint64
		wantErr string // "" for a valid seed
	}{
		{"1", 1, ""},
		{"42", 42, ""},
		{"18446744073709551615", MaxSeed, ""},
		{"007", 7, ""},
		{"0", 0, `malformed seed "0"`},
		{"", 0, `malformed seed ""`},
		{"-1", 0, `malformed seed "-1"`},
		{"+1", 0, `malformed seed "+1"`},
		{" 1", 0, `malformed seed " 1"`},
		{"0x10", 0, `malformed seed "0x10"`},
		{"1_000", 0, `malformed seed "1_000"`},
		{"18446744073709551616", 0, "seed 18446744073709551616 is out of range: seeds are 1..18446744073709551615"},
		{"99999999999999999999999", 0, "out of range"},
		// Found by FuzzParseSeed: ParseUint reports the overflow before the stray byte.
		{"100000000000000000000\r", 0, `malformed seed "100000000000000000000\r"`},
	}
	for _, tt := range tests {
		got, err := ParseSeed(tt.in)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ParseSeed(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseSeed(%q) error %v, want one containing %q", tt.in, err, tt.wantErr)
		case tt.wantErr != "" && !strings.Contains(err.Error(), "18446744073709551615"):
			t.Errorf("ParseSeed(%q) error %q does not give the valid range", tt.in, err)
		}
	}
}

func TestSeedFlagsSelect(t *testing.T) {
	tests := []struct {
		name    string
		flags   SeedFlags
		want    int // how many seeds (1..want), or -1 for nil
		wantErr string
	}{
		{"neither", SeedFlags{}, -1, ""},
		{"seeds 3", SeedFlags{Seeds: "3", SeedsSet: true}, 3, ""},
		{"seeds at the limit", SeedFlags{Seeds: "10", SeedsSet: true}, 10, ""},
		{"seeds over the limit", SeedFlags{Seeds: "11", SeedsSet: true}, 0, "-seeds 11 is too many: a sweep runs 1 to 10 seeds"},
		{"seeds over uint64", SeedFlags{Seeds: "99999999999999999999999", SeedsSet: true}, 0, "too many"},
		{"seeds 0", SeedFlags{Seeds: "0", SeedsSet: true}, 0, `-seeds "0": want how many seeds to run (seeds 1..N), N from 1 to 10`},
		{"seeds negative", SeedFlags{Seeds: "-2", SeedsSet: true}, 0, `-seeds "-2"`},
		{"seeds over uint64 and malformed", SeedFlags{Seeds: "100000000000000000000x", SeedsSet: true}, 0, `-seeds "100000000000000000000x": want how many`},
		{"seeds word", SeedFlags{Seeds: "all", SeedsSet: true}, 0, `-seeds "all"`},
		{"seed given empty", SeedFlags{SeedSet: true}, 0, `-seed: malformed seed ""`},
		{"both", SeedFlags{Seed: "1", SeedSet: true, Seeds: "2", SeedsSet: true}, 0, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.flags.Select(10)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want < 0 {
				if got != nil {
					t.Fatalf("got %v, want nil (the caller's default)", got)
				}
				return
			}
			if len(got) != tt.want || got[0] != 1 || got[len(got)-1] != uint64(tt.want) {
				t.Errorf("got %v, want seeds 1..%d", got, tt.want)
			}
		})
	}
}

// TestOverridesValidate: bad override values are refused whatever the scenario, with an
// error that names the flag and says what is valid.
func TestOverridesValidate(t *testing.T) {
	on, off := true, false
	tests := []struct {
		ov      Overrides
		wantErr string
	}{
		{Overrides{}, ""},
		{Overrides{Reads: "lease"}, ""},
		{Overrides{Reads: "local", CheckQuorum: &off, PreVote: &on}, ""},
		{Overrides{Reads: "bogus"}, `-reads: unknown read mode "bogus": valid modes are readindex, lease, local`},
		{Overrides{Reads: "Lease"}, `unknown read mode "Lease"`},
		{Overrides{Reads: "lease", CheckQuorum: &off}, "-reads lease needs CheckQuorum"},
	}
	for _, tt := range tests {
		err := tt.ov.Validate()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.ov, err, tt.wantErr)
		}
	}
}

// TestOverridesCheck: Check finds, without running, the setup errors Run would report, and
// only those. -checkquorum=false conflicts with the lease reads that swarm picks for some
// seeds and not others, so it is a seed's configuration, not the flags alone, that decides.
func TestOverridesCheck(t *testing.T) {
	swarm, err := Lookup("swarm")
	if err != nil {
		t.Fatal(err)
	}
	off := false
	ov := Overrides{CheckQuorum: &off}
	var refused, accepted int
	for seed := uint64(1); seed <= 40; seed++ {
		cerr := ov.Check(swarm, seed)
		if cerr == nil {
			accepted++
			continue
		}
		refused++
		if !strings.Contains(cerr.Error(), "needs CheckQuorum") || !strings.Contains(cerr.Error(), "-reads readindex") {
			t.Errorf("seed %d: %v, want a message that says lease reads need CheckQuorum and what to add", seed, cerr)
		}
		if o := Run(swarm, seed, Options{Overrides: ov}); o.Err == nil || o.Err.Error() != cerr.Error() {
			t.Errorf("seed %d: Check says %v, Run's setup error is %v", seed, cerr, o.Err)
		}
	}
	if refused == 0 || accepted == 0 {
		t.Errorf("swarm with -checkquorum=false: %d seeds refused, %d accepted of 40; want some of each", refused, accepted)
	}
	happy, err := Lookup("happy-path")
	if err != nil {
		t.Fatal(err)
	}
	if err := (Overrides{Reads: "bogus"}).Check(happy, 1); err == nil {
		t.Errorf("Check accepted -reads bogus")
	}
	if err := (Overrides{Reads: "lease"}).Check(happy, 1); err != nil {
		t.Errorf("Check refused -reads lease on happy-path: %v", err)
	}
}
