// Package bedrock is the llmload provider for Amazon Bedrock runtime: the
// Converse API (ConverseStream and Converse) and the model-native
// InvokeModelWithResponseStream and InvokeModel, over the AWS SDK for Go v2.
//
// The SDK signs requests (SigV4, or a Bedrock API key from
// AWS_BEARER_TOKEN_BEDROCK), resolves the endpoint and decodes the AWS
// event-stream framing. Its own retries are disabled: llmload measures
// single attempts, and its load layer decides whether to retry.
//
// The provider parses; it never times. Stream.Next returns each event as
// the SDK decodes its frame, and the load runner stamps it.
package bedrock

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/awsx"
)

// The operations a Provider can call (Options.API).
const (
	APIConverseStream = "converse-stream" // ConverseStream: messages in, contentBlockDelta events out
	APIConverse       = "converse"        // Converse: one JSON response
	APIInvokeStream   = "invoke-stream"   // InvokeModelWithResponseStream: model-native body, "chunk" events
	APIInvoke         = "invoke"          // InvokeModel: model-native body and response
)

// The values of Options.Performance.
const (
	PerformanceStandard         = "standard"
	PerformanceLatencyOptimized = "latency-optimized"
)

// DefaultMaxConns sizes the connection pool when Options.MaxConns is not set.
const DefaultMaxConns = 100

// DefaultEndpointRegion is the signing region used when EndpointURL is set
// and no region is configured anywhere (the simulator ignores signatures).
const DefaultEndpointRegion = "us-east-1"

// Options configures a Provider.
type Options struct {
	// Region is the AWS region, e.g. "us-west-2". "" uses the SDK's
	// default chain (AWS_REGION, AWS_DEFAULT_REGION, the profile's region);
	// with EndpointURL set and no region found, DefaultEndpointRegion.
	Region string
	// EndpointURL overrides the endpoint the SDK resolves from the region:
	// the simulator, a VPC interface endpoint, a proxy. It must be an
	// absolute http or https URL.
	EndpointURL string
	// Profile is the shared config/credentials profile; "" means
	// AWS_PROFILE or "default".
	Profile string
	// API selects the operation: APIConverseStream, APIConverse,
	// APIInvokeStream or APIInvoke. "" means ConverseStream when
	// llm.Request.Stream is set and Converse otherwise.
	API string
	// Performance is "" (not sent), PerformanceStandard or
	// PerformanceLatencyOptimized (sent as performanceConfig.latency
	// "optimized").
	Performance string
	// MaxConns is the number of streams expected to run at once; it sizes
	// the idle pool of the client New builds, so that hundreds of
	// concurrent streams neither queue in the client nor re-dial. 0 means
	// DefaultMaxConns.
	MaxConns int
	// Credentials signs requests. nil uses the SDK's default chain
	// (environment, shared profiles, SSO, web identity, container and
	// instance roles), resolved once by New so that missing credentials
	// fail the setup rather than every request. Ignored for signing when
	// AWS_BEARER_TOKEN_BEDROCK is set (the SDK then sends that API key).
	Credentials aws.CredentialsProvider
	// HTTPClient sends the requests. nil builds the SDK's buildable client
	// with the pool sized by MaxConns and no overall timeout: the context
	// given to Start bounds each request.
	HTTPClient aws.HTTPClient
}

// Provider sends requests to Amazon Bedrock runtime. It is safe for
// concurrent use by many goroutines.
type Provider struct {
	client  *bedrockruntime.Client
	api     string
	latency types.PerformanceConfigLatency
	secrets *secrets
	region  string
	url     string // the service endpoint, for people
}

var _ llm.Provider = (*Provider)(nil)

// New loads the AWS configuration for opts and returns a Provider. It fails
// when an option is invalid, no region can be found, or (with the default
// credential chain) no credentials can be resolved.
func New(ctx context.Context, opts Options) (*Provider, error) {
	p := &Provider{secrets: &secrets{}}
	switch opts.API {
	case "", APIConverseStream, APIConverse, APIInvokeStream, APIInvoke:
		p.api = opts.API
	default:
		return nil, fmt.Errorf("bedrock: unknown API %q (want %s, %s, %s or %s)",
			opts.API, APIConverseStream, APIConverse, APIInvokeStream, APIInvoke)
	}
	switch opts.Performance {
	case "":
	case PerformanceStandard:
		p.latency = types.PerformanceConfigLatencyStandard
	case PerformanceLatencyOptimized, string(types.PerformanceConfigLatencyOptimized):
		p.latency = types.PerformanceConfigLatencyOptimized
	default:
		return nil, fmt.Errorf("bedrock: unknown performance %q (want %s or %s)",
			opts.Performance, PerformanceStandard, PerformanceLatencyOptimized)
	}
	endpoint := strings.TrimSpace(opts.EndpointURL)
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("bedrock: invalid endpoint URL: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("bedrock: endpoint URL %q must be an absolute http or https URL (e.g. http://127.0.0.1:8000)", u.Redacted())
		}
	}

	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = newHTTPClient(opts.MaxConns)
	}
	load := []func(*config.LoadOptions) error{
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(opts.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("bedrock: loading AWS configuration: %s", p.secrets.redact(err.Error()))
	}
	if cfg.Region == "" {
		if endpoint == "" {
			return nil, errors.New("bedrock: no AWS region: set --region, AWS_REGION or the profile's region")
		}
		cfg.Region = DefaultEndpointRegion
	}
	p.region = cfg.Region
	if cfg.Credentials != nil && !aws.IsCredentialsProvider(cfg.Credentials, (*aws.AnonymousCredentials)(nil)) {
		cp := cfg.Credentials
		if !aws.IsCredentialsProvider(cp, (*aws.CredentialsCache)(nil)) {
			cp = aws.NewCredentialsCache(cp)
		}
		cfg.Credentials = &recordingProvider{inner: cp, secrets: p.secrets}
		if os.Getenv("AWS_BEARER_TOKEN_BEDROCK") == "" {
			if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
				return nil, fmt.Errorf("bedrock: no usable AWS credentials (environment, profile %q, SSO or role): %s",
					cmpOr(opts.Profile, "default"), p.secrets.redact(err.Error()))
			}
		}
	}
	p.url = endpoint
	if p.url == "" {
		p.url = "https://bedrock-runtime." + cfg.Region + ".amazonaws.com"
	}
	p.client = bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		// Exactly one attempt: a retried request would hide throttling
		// and inflate latency.
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0
		o.HTTPClient = awsx.QuietBodyClient{HTTPClient: o.HTTPClient}
	})
	return p, nil
}

// newHTTPClient builds the SDK's default client (its dialer, TLS and proxy
// settings) with an idle pool of one connection per expected stream and no
// cap on connections per host.
func newHTTPClient(maxConns int) *awshttp.BuildableClient {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(maxConns, t.MaxIdleConns)
		t.MaxIdleConnsPerHost = maxConns
		t.MaxConnsPerHost = 0
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Region is the AWS region the provider signs for (the SDK's default
// chain's when Options.Region was empty).
func (p *Provider) Region() string { return p.region }

// Endpoint returns the service endpoint requests go to: Options.EndpointURL,
// or the region's public Bedrock runtime endpoint.
func (p *Provider) Endpoint() string { return p.url }

// Name returns "bedrock".
func (p *Provider) Name() string { return "bedrock" }

// Start calls the operation selected by Options.API and returns once the
// response status and headers have arrived (for the non-streaming
// operations, once the whole response has). A failure is returned as an
// *llm.Error classified from the SDK's typed exceptions (see errors.go).
func (p *Provider) Start(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if req == nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "bedrock: nil request"}
	}
	if req.Model == "" {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "bedrock: no model id"}
	}
	api := p.api
	if api == "" {
		api = APIConverse
		if req.Stream {
			api = APIConverseStream
		}
	}
	switch api {
	case APIConverseStream, APIConverse:
		return p.converse(ctx, req, api == APIConverseStream)
	default:
		return p.invoke(ctx, req, api == APIInvokeStream)
	}
}

// secrets are the credential secrets seen so far; they are removed from
// every error message (a server or proxy could echo them back).
type secrets struct {
	list atomic.Pointer[[]string]
}

func (s *secrets) remember(c aws.Credentials) {
	var l []string
	for _, v := range []string{c.SecretAccessKey, c.SessionToken} {
		if len(v) >= 8 {
			l = append(l, v)
		}
	}
	if old := s.list.Load(); old != nil && equal(*old, l) {
		return
	}
	s.list.Store(&l)
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (s *secrets) redact(msg string) string {
	if tok := os.Getenv("AWS_BEARER_TOKEN_BEDROCK"); len(tok) >= 8 {
		msg = strings.ReplaceAll(msg, tok, "[REDACTED]")
	}
	if l := s.list.Load(); l != nil {
		for _, v := range *l {
			msg = strings.ReplaceAll(msg, v, "[REDACTED]")
		}
	}
	return msg
}

// recordingProvider remembers the secrets of the credentials it hands out.
type recordingProvider struct {
	inner   aws.CredentialsProvider
	secrets *secrets
}

func (r *recordingProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := r.inner.Retrieve(ctx)
	if err == nil {
		r.secrets.remember(c)
	}
	return c, err
}
