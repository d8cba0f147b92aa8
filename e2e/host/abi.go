package host

// Numeric values of the proxy-wasm ABI 0.2.1 enums.

// status is proxy_status_t (Envoy's WasmResult).
type status uint32

const (
	statusOK                   status = 0
	statusNotFound             status = 1
	statusBadArgument          status = 2
	statusSerializationFailure status = 3
	statusInvalidMemoryAccess  status = 6
	statusEmpty                status = 7
	statusCasMismatch          status = 8
	statusInternalFailure      status = 10
	statusUnimplemented        status = 12
)

// mapType is proxy_map_type_t.
type mapType uint32

const (
	mapRequestHeaders       mapType = 0
	mapRequestTrailers      mapType = 1
	mapResponseHeaders      mapType = 2
	mapResponseTrailers     mapType = 3
	mapGrpcInitialMetadata  mapType = 4
	mapGrpcTrailingMetadata mapType = 5
	mapCallResponseHeaders  mapType = 6
	mapCallResponseTrailers mapType = 7
	mapTypeMax                      = mapCallResponseTrailers
)

// bufferType is proxy_buffer_type_t.
type bufferType uint32

const (
	bufferRequestBody      bufferType = 0
	bufferResponseBody     bufferType = 1
	bufferDownstreamData   bufferType = 2
	bufferUpstreamData     bufferType = 3
	bufferCallResponseBody bufferType = 4
	bufferGrpcReceive      bufferType = 5
	bufferVMConfiguration  bufferType = 6
	bufferPluginConfig     bufferType = 7
	bufferCallData         bufferType = 8
	bufferTypeMax                     = bufferCallData
)

// streamType is proxy_stream_type_t.
type streamType uint32

const (
	streamRequest    streamType = 0
	streamResponse   streamType = 1
	streamDownstream streamType = 2
	streamUpstream   streamType = 3
)

// action is proxy_action_t, returned by the stream callbacks.
const actionContinue = 0

// rootContextID is the id Envoy gives the first root context of a VM
// (proxy-wasm-cpp-host allocates context ids from 1 per VM).
const rootContextID = 1
