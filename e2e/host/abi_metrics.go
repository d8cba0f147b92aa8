package host

// Envoy encodes the metric type in the low bits of a metric id.
const (
	metricTypeMask    = 0x3
	metricIDIncrement = 0x4
)

func metricFuncs() []hostFunc {
	return []hostFunc{
		{"proxy_define_metric", ints(4), proxyDefineMetric},
		{"proxy_increment_metric", []apiType{i32, i64}, func(v *vm, s []uint64) status {
			if MetricKind(u32(s[0])&metricTypeMask) == Histogram {
				return statusBadArgument
			}
			m, ok := v.metricIDs[u32(s[0])]
			if !ok {
				return statusNotFound
			}
			return v.h.metrics.increment(m, int64(s[1]))
		}},
		{"proxy_record_metric", []apiType{i32, i64}, func(v *vm, s []uint64) status {
			m, ok := v.metricIDs[u32(s[0])]
			if !ok {
				return statusNotFound
			}
			v.h.metrics.record(m, s[1])
			return statusOK
		}},
		{"proxy_get_metric", ints(2), func(v *vm, s []uint64) status {
			id := u32(s[0])
			m, ok := v.metricIDs[id]
			if !ok {
				if MetricKind(id&metricTypeMask) == Histogram {
					return statusBadArgument
				}
				return statusNotFound
			}
			val, st := v.h.metrics.get(m)
			if st != statusOK {
				return st
			}
			if !v.writeU64(u32(s[1]), val) {
				return statusInvalidMemoryAccess
			}
			return statusOK
		}},
	}
}

// proxyDefineMetric gives this VM a new id for the named metric; the same name
// in another VM (or defined twice) is the same metric, as in Envoy.
func proxyDefineMetric(v *vm, s []uint64) status {
	kind := MetricKind(u32(s[0]))
	if kind > Histogram {
		return statusBadArgument
	}
	name, ok := v.readString(u32(s[1]), u32(s[2]))
	if !ok {
		return statusInvalidMemoryAccess
	}
	v.nextMetric[kind] += metricIDIncrement
	id := v.nextMetric[kind]
	v.metricIDs[id] = v.h.metrics.define(kind, name)
	if !v.writeU32(u32(s[3]), id) {
		return statusInvalidMemoryAccess
	}
	return statusOK
}
