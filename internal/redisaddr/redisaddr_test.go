package redisaddr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/voiceedge/edge/internal/redisaddr"
)

func TestParseNamesTheDeploymentOfEachAddressForm(t *testing.T) {
	cases := []struct {
		in         string
		kind       redisaddr.Kind
		addrs      string
		master     string
		user, pass string
		db         int
	}{
		{"127.0.0.1:6379", redisaddr.Single, "127.0.0.1:6379", "", "", "", 0},
		{"10.0.0.1:7000, 10.0.0.2:7000,10.0.0.3:7000", redisaddr.Cluster, "10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000", "", "", "", 0},
		{"redis://:secret@127.0.0.1:6390/2", redisaddr.Single, "127.0.0.1:6390", "", "", "secret", 2},
		{"rediss://user:pw@cache.example:6380", redisaddr.Single, "cache.example:6380", "", "user", "pw", 0},
		{"sentinel://s1:26379/mymaster", redisaddr.Sentinel, "s1:26379", "mymaster", "", "", 0},
		{"sentinel://:pw@s1:26379,s2:26379,s3:26379/edge-main", redisaddr.Sentinel, "s1:26379,s2:26379,s3:26379", "edge-main", "", "pw", 0},
		{"sentinel://app:p@ss@[::1]:26379/m", redisaddr.Sentinel, "[::1]:26379", "m", "app", "p@ss", 0},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			a, err := redisaddr.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if a.Kind != tc.kind || strings.Join(a.Addrs, ",") != tc.addrs || a.MasterName != tc.master ||
				a.Username != tc.user || a.Password != tc.pass || a.DB != tc.db {
				t.Errorf("Parse(%q) = %+v", tc.in, a)
			}
			if tc.pass != "" && strings.Contains(a.String(), tc.pass) {
				t.Errorf("String() leaks the password: %s", a)
			}
		})
	}
}

func TestParseRefusesMalformedAddresses(t *testing.T) {
	for _, in := range []string{
		"localhost", "127.0.0.1:0", ":6379", "http://127.0.0.1:6379", "127.0.0.1:6379,", "127.0.0.1:99999",
		"sentinel://s1:26379", "sentinel://s1:26379/", "sentinel://s1/m", "sentinel://pw@s1:26379/m", "sentinel:///m",
	} {
		t.Run(in, func(t *testing.T) {
			if a, err := redisaddr.Parse(in); !errors.Is(err, redisaddr.ErrAddr) {
				t.Fatalf("Parse(%q) = %+v, %v; want ErrAddr", in, a, err)
			}
		})
	}
}

func TestNewClientBuildsTheClientOfTheDeployment(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"127.0.0.1:6379", "*redis.Client"},
		{"127.0.0.1:7000,127.0.0.1:7001", "*redis.ClusterClient"},
		{"sentinel://127.0.0.1:26379/m", "*redis.Client"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			a, err := redisaddr.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			c := redisaddr.NewClient(a, "test")
			defer c.Close()
			got := ""
			switch x := c.(type) {
			case *redis.ClusterClient:
				got = "*redis.ClusterClient"
				if x.Options().ClusterStateReloadInterval > 5e9 || x.Options().ReadOnly {
					t.Errorf("cluster options %+v: want a short reload interval and master reads", x.Options())
				}
			case *redis.Client:
				got = "*redis.Client"
			}
			if got != tc.want {
				t.Errorf("NewClient(%q) is %T, want %s", tc.in, c, tc.want)
			}
		})
	}
}
