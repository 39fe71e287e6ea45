// Package sagemaker is the llmload provider for Amazon SageMaker real-time
// endpoints, over the AWS SDK for Go v2 sagemakerruntime client:
// InvokeEndpointWithResponseStream for streamed requests, InvokeEndpoint
// for the others.
//
// A SageMaker endpoint runs a container whose body format SageMaker does
// not define. The provider speaks TGI's /invocations body (the Hugging Face
// LLM container), an OpenAI-style chat body (LMI/vLLM containers), or a
// user template, and reads any of their response shapes (see
// docs/providers.md).
//
// The provider parses; it never times. Stream.Next returns each event as
// soon as the line carrying it is complete, and the load runner stamps it.
// SDK retries are disabled: llmload measures single attempts.
package sagemaker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/restjson1"

	"github.com/llmload/llmload/llm"
	"github.com/llmload/llmload/llm/internal/awsx"
)

// The request body formats.
const (
	// FormatTGI is TGI's body: {"inputs", "parameters": {"max_new_tokens",
	// "details": true, …}, "stream"}. The default.
	FormatTGI = "tgi"
	// FormatMessages is an OpenAI-style chat body: {"messages",
	// "max_tokens", "stream", …}, as LMI and vLLM containers take.
	FormatMessages = "messages"
	// FormatTemplate is Options.Template with its placeholders filled.
	FormatTemplate = "template"
)

// DefaultMaxConns sizes the connection pool when Options.MaxConns is not set.
const DefaultMaxConns = 100

// Options configures a Provider.
type Options struct {
	// Endpoint is the SageMaker endpoint name (required).
	Endpoint string
	// Region is the AWS region; "" uses the SDK's default chain
	// (AWS_REGION, the shared config profile).
	Region string
	// EndpointURL overrides the service URL, e.g. a simulator's
	// "http://127.0.0.1:8080" or a VPC endpoint.
	EndpointURL string
	// Profile is the shared config profile; "" is the default profile.
	Profile string
	// Format is the body format: FormatTGI (""), FormatMessages or
	// FormatTemplate.
	Format string
	// Template is the body for FormatTemplate: JSON in which {{prompt}} is
	// replaced by the prompt as JSON string content (escaped, no quotes:
	// write "{{prompt}}"), {{max_tokens}} by the requested maximum output
	// and {{stream}} by true or false. Responses are read in any of the
	// shapes the provider knows (docs/providers.md).
	Template string
	// InferenceComponent is sent as InferenceComponentName.
	InferenceComponent string
	// CustomAttributes is sent in the X-Amzn-SageMaker-Custom-Attributes header.
	CustomAttributes string
	// MaxConns is the number of requests expected to run at once; it sizes
	// the HTTP client's idle pool. 0 means DefaultMaxConns.
	MaxConns int
	// Credentials signs the requests; nil uses the SDK's default chain.
	Credentials aws.CredentialsProvider
}

// Provider sends requests to one SageMaker endpoint. It is safe for
// concurrent use by many goroutines.
type Provider struct {
	client    *sagemakerruntime.Client
	endpoint  string
	format    string
	template  string
	component *string
	attrs     *string
	region    string
	url       string // the invocation URL, for people
}

var _ llm.Provider = (*Provider)(nil)

// New returns a Provider for opts. It loads the AWS configuration and
// retrieves credentials once, so that a missing region or credentials fail
// here rather than on every request.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if strings.TrimSpace(opts.Endpoint) == "" {
		return nil, errors.New("sagemaker: an endpoint name is required")
	}
	p := &Provider{endpoint: opts.Endpoint, format: opts.Format}
	switch opts.Format {
	case "":
		p.format = FormatTGI
	case FormatTGI, FormatMessages:
	case FormatTemplate:
		if err := checkTemplate(opts.Template); err != nil {
			return nil, err
		}
		p.template = opts.Template
	default:
		return nil, fmt.Errorf("sagemaker: unknown format %q (want %s, %s or %s)", opts.Format, FormatTGI, FormatMessages, FormatTemplate)
	}
	if opts.Template != "" && p.format != FormatTemplate {
		return nil, fmt.Errorf("sagemaker: a template is given but the format is %q; use format %q", p.format, FormatTemplate)
	}
	if opts.InferenceComponent != "" {
		p.component = aws.String(opts.InferenceComponent)
	}
	if opts.CustomAttributes != "" {
		p.attrs = aws.String(opts.CustomAttributes)
	}

	conns := opts.MaxConns
	if conns <= 0 {
		conns = DefaultMaxConns
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = max(conns, t.MaxIdleConns)
		t.MaxIdleConnsPerHost = conns
		t.MaxConnsPerHost = 0
	})
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
		return nil, fmt.Errorf("sagemaker: loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("sagemaker: no AWS region: set one (--region, AWS_REGION or the profile's region)")
	}
	p.region = cfg.Region
	if cfg.Credentials == nil {
		return nil, errors.New("sagemaker: no AWS credentials found")
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("sagemaker: retrieving AWS credentials: %w", err)
	}
	base := strings.TrimRight(opts.EndpointURL, "/")
	if base == "" {
		base = "https://runtime.sagemaker." + cfg.Region + ".amazonaws.com"
	}
	p.url = base + "/endpoints/" + url.PathEscape(opts.Endpoint)
	p.client = sagemakerruntime.NewFromConfig(cfg, func(o *sagemakerruntime.Options) {
		if opts.EndpointURL != "" {
			o.BaseEndpoint = aws.String(opts.EndpointURL)
		}
		// One attempt per request: llmload's own retry layer decides.
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0
		o.HTTPClient = awsx.QuietBodyClient{HTTPClient: o.HTTPClient}
	})
	return p, nil
}

// Region is the AWS region the provider signs for (the SDK's default
// chain's when Options.Region was empty).
func (p *Provider) Region() string { return p.region }

// Endpoint returns the endpoint's invocation URL (without the operation):
// the service endpoint the region or Options.EndpointURL gives, then
// /endpoints/NAME.
func (p *Provider) Endpoint() string { return p.url }

// Name returns "sagemaker".
func (p *Provider) Name() string { return "sagemaker" }

// Start sends req and returns once the response status and headers have
// arrived: a stream when req.Stream (InvokeEndpointWithResponseStream),
// else a single-event stream (InvokeEndpoint). A failure is an *llm.Error
// classified as described in docs/providers.md. req.Model and req.Headers
// are not sent: the endpoint decides the model, and SageMaker strips
// headers it does not define.
func (p *Provider) Start(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	if req == nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "sagemaker: nil request"}
	}
	body, err := p.body(req)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindClient, Message: "sagemaker: " + err.Error(), Err: err}
	}
	if req.Stream {
		out, err := p.client.InvokeEndpointWithResponseStream(ctx, &sagemakerruntime.InvokeEndpointWithResponseStreamInput{
			EndpointName:           &p.endpoint,
			Body:                   body,
			ContentType:            aws.String("application/json"),
			CustomAttributes:       p.attrs,
			InferenceComponentName: p.component,
		}, ownProtocol)
		if err != nil {
			return nil, classify(ctx, err)
		}
		id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
		return newEventStream(ctx, out.GetStream(), p.format, id), nil
	}
	out, err := p.client.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
		EndpointName:           &p.endpoint,
		Body:                   body,
		ContentType:            aws.String("application/json"),
		Accept:                 aws.String("application/json"),
		CustomAttributes:       p.attrs,
		InferenceComponentName: p.component,
	})
	if err != nil {
		return nil, classify(ctx, err)
	}
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return newWholeStream(out.Body, id), nil
}

// ownProtocol gives a streamed call its own protocol instance. The SDK's
// client-wide restJson1 protocol holds one event-stream codec whose
// scratch fields every open stream writes without synchronization
// (aws/smithy-go#714); under load that is a data race. A protocol per
// call costs a few small allocations per request.
func ownProtocol(o *sagemakerruntime.Options) {
	o.Protocol = restjson1.New(schemas.AmazonSageMakerRuntime)
}

// promptOf is the request's prompt as one string: Prompt, else the
// messages' contents joined by newlines.
func promptOf(req *llm.Request) string {
	if req.Prompt != "" || len(req.Messages) == 0 {
		return req.Prompt
	}
	if len(req.Messages) == 1 {
		return req.Messages[0].Content
	}
	parts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		parts[i] = m.Content
	}
	return strings.Join(parts, "\n")
}

// body builds the JSON body of req in the provider's format.
func (p *Provider) body(req *llm.Request) ([]byte, error) {
	switch p.format {
	case FormatMessages:
		return messagesBody(req)
	case FormatTemplate:
		return renderTemplate(p.template, req)
	}
	return tgiBody(req)
}

// tgiBody is TGI's body. req.Extra is merged into "parameters", where TGI
// keeps every generation option. A temperature of 0 is not sent: TGI
// rejects it and decodes greedily by default.
func tgiBody(req *llm.Request) ([]byte, error) {
	params := make(map[string]any, 4+len(req.Extra))
	params["details"] = true
	params["decoder_input_details"] = false
	if req.MaxTokens > 0 {
		params["max_new_tokens"] = req.MaxTokens
	}
	if t := req.Temperature; t != nil && *t > 0 {
		params["temperature"] = *t
	}
	for k, v := range req.Extra {
		params[k] = v
	}
	return json.Marshal(map[string]any{"inputs": promptOf(req), "parameters": params, "stream": req.Stream})
}

// messagesBody is an OpenAI-style chat body; req.Extra is merged last.
func messagesBody(req *llm.Request) ([]byte, error) {
	m := make(map[string]any, 8+len(req.Extra))
	msgs := req.Messages
	if len(msgs) == 0 {
		msgs = []llm.Message{{Role: "user", Content: req.Prompt}}
	}
	m["messages"] = msgs
	if req.MaxTokens > 0 {
		m["max_tokens"] = req.MaxTokens
	}
	m["stream"] = req.Stream
	if req.Stream {
		m["stream_options"] = map[string]any{"include_usage": true}
	}
	if req.Temperature != nil {
		m["temperature"] = *req.Temperature
	}
	if req.IgnoreEOS {
		m["ignore_eos"] = true
		if req.MaxTokens > 0 {
			m["min_tokens"] = req.MaxTokens
		}
	}
	for k, v := range req.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

// Template placeholders.
const (
	phPrompt    = "{{prompt}}"
	phMaxTokens = "{{max_tokens}}"
	phStream    = "{{stream}}"
)

// checkTemplate rejects a template without {{prompt}} or one that is not
// JSON once filled in.
func checkTemplate(t string) error {
	if !strings.Contains(t, phPrompt) {
		return fmt.Errorf("sagemaker: the template must contain %s", phPrompt)
	}
	b, err := renderTemplate(t, &llm.Request{Prompt: "a \"quoted\"\nprompt", MaxTokens: 16, Stream: true})
	if err != nil {
		return err
	}
	if !json.Valid(b) {
		return fmt.Errorf("sagemaker: the template is not valid JSON once filled in (write \"%s\" inside quotes): %s", phPrompt, b)
	}
	return nil
}

// renderTemplate fills in t for req; req.Extra, when given, is merged into
// the top-level object.
func renderTemplate(t string, req *llm.Request) ([]byte, error) {
	if req.MaxTokens <= 0 && strings.Contains(t, phMaxTokens) {
		return nil, fmt.Errorf("the template uses %s but the request sets no maximum output", phMaxTokens)
	}
	var esc bytes.Buffer
	enc := json.NewEncoder(&esc)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(promptOf(req)); err != nil {
		return nil, err
	}
	quoted := bytes.TrimSpace(esc.Bytes())
	prompt := string(quoted[1 : len(quoted)-1])
	out := strings.NewReplacer(phPrompt, prompt, phMaxTokens, strconv.Itoa(req.MaxTokens),
		phStream, strconv.FormatBool(req.Stream)).Replace(t)
	if len(req.Extra) == 0 {
		return []byte(out), nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("merging extra fields: the filled template is not a JSON object: %w", err)
	}
	for k, v := range req.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}
