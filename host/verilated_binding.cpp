// pybind11 binding of a Verilated foreland kernel (generic over the CSR/stream conventions).
//
// host/verilated.py fills the @@...@@ placeholders per design (module name, payload
// widths, Verilator's mangled port names) and compiles this file against the
// model.  All per-cycle loops (block writes, polling, streaming) run here in C++
// with the GIL released: Python never runs once per clock.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "Vtop.h"
#include "verilated.h"
#if FL_TRACE_FST
#include "verilated_fst_c.h"
typedef VerilatedFstC FlTrace;
#elif FL_TRACE_VCD
#include "verilated_vcd_c.h"
typedef VerilatedVcdC FlTrace;
#endif

namespace py = pybind11;

#define FL_MODULE @@MODULE@@
#define FL_HAS_IN @@HAS_IN@@
#define FL_HAS_OUT @@HAS_OUT@@
#define FL_IN_BITS @@IN_BITS@@
#define FL_OUT_BITS @@OUT_BITS@@
#define FL_IN_WORDS ((FL_IN_BITS + 31) / 32)
#define FL_OUT_WORDS ((FL_OUT_BITS + 31) / 32)

namespace {

// Mask for the top word of a payload so Verilator sees "clean" upper bits.
constexpr uint32_t top_mask(int bits) {
    return (bits % 32) == 0 ? 0xFFFFFFFFu : ((1u << (bits % 32)) - 1u);
}

class Model {
  public:
    explicit Model(const std::string& trace_path) : ctx_(new VerilatedContext) {
#if FL_TRACE_FST || FL_TRACE_VCD
        ctx_->traceEverOn(true);
#endif
        top_.reset(new Vtop(ctx_.get(), "top"));
        if (!trace_path.empty()) {
#if FL_TRACE_FST || FL_TRACE_VCD
            trace_.reset(new FlTrace);
            top_->trace(trace_.get(), 99);
            trace_->open(trace_path.c_str());
#else
            throw std::runtime_error("this model was built without tracing; build it with trace enabled");
#endif
        }
        top_->clk = 0;
        idle_inputs();
        top_->eval();
        reset(2);
    }

    ~Model() {
#if FL_TRACE_FST || FL_TRACE_VCD
        if (trace_) trace_->close();
#endif
        top_->final();
    }

    void reset(int n) {
        top_->rst = 1;
        for (int i = 0; i < n; ++i) tick();
        top_->rst = 0;
        top_->eval();
    }

    void write(uint32_t addr, uint32_t value) {
        top_->csr___05Faddr = addr;
        top_->csr___05Fw_data = value;
        top_->csr___05Fw_stb = 1;
        tick();
        top_->csr___05Fw_stb = 0;
    }

    uint32_t read(uint32_t addr) {
        top_->csr___05Faddr = addr;
        top_->csr___05Fr_stb = 1;
        tick();
        top_->csr___05Fr_stb = 0;
        return top_->csr___05Fr_data;  // registered: valid in the cycle after r_stb
    }

    void write_block(uint32_t addr, py::array_t<uint32_t, py::array::c_style | py::array::forcecast> words) {
        auto buf = words.unchecked<1>();
        const uint32_t* p = buf.data(0);
        const py::ssize_t n = buf.shape(0);
        py::gil_scoped_release nogil;
        top_->csr___05Faddr = addr;
        top_->csr___05Fw_stb = 1;
        for (py::ssize_t i = 0; i < n; ++i) {
            top_->csr___05Fw_data = p[i];
            tick();
        }
        top_->csr___05Fw_stb = 0;
    }

    // Poll with back-to-back reads (one read per cycle, as a tight host loop would).
    int64_t run_until(uint32_t addr, uint32_t mask, uint32_t value, int64_t max_cycles) {
        py::gil_scoped_release nogil;
        const uint64_t start = cycles_;
        while (static_cast<int64_t>(cycles_ - start) < max_cycles) {
            if ((read(addr) & mask) == value) return static_cast<int64_t>(cycles_ - start);
        }
        return -1;
    }

    void step(int64_t n) {
        py::gil_scoped_release nogil;
        for (int64_t i = 0; i < n; ++i) tick();
    }

    py::tuple stream(py::array_t<uint32_t, py::array::c_style | py::array::forcecast> in_words, int64_t n_out,
                     int64_t max_cycles, double out_ready_prob, uint64_t seed) {
#if FL_HAS_IN && FL_HAS_OUT
        auto in = in_words.unchecked<2>();
        if (in.shape(1) != FL_IN_WORDS) throw std::invalid_argument("in_words must have FL_IN_WORDS columns");
        const int64_t n_in = in.shape(0);
        py::array_t<uint32_t> out_arr({static_cast<py::ssize_t>(n_out), static_cast<py::ssize_t>(FL_OUT_WORDS)});
        uint32_t* out = out_arr.mutable_data();
        const uint32_t* src = in.data(0, 0);
        int64_t i_in = 0, i_out = 0, first_in = -1, last_out = -1, in_stalls = 0, out_stalls = 0, c = 0;
        // Back-pressure draws from a 64-bit LCG so runs are reproducible from `seed`.
        uint64_t lcg = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const uint64_t thresh = out_ready_prob >= 1.0 ? ~0ULL : static_cast<uint64_t>(out_ready_prob * 18446744073709551615.0);
        {
            py::gil_scoped_release nogil;
            for (c = 0; c < max_cycles && i_out < n_out; ++c) {
                const bool have = i_in < n_in;
                top_->msg_in___05Fvalid = have;
                if (have) set_payload(src + i_in * FL_IN_WORDS);
                bool out_ready = true;
                if (out_ready_prob < 1.0) {
                    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
                    out_ready = (lcg >> 1) < (thresh >> 1);
                }
                top_->dec_out___05Fready = out_ready;
                // Settle ready/valid before sampling the handshake; with clk low this eval is
                // also the falling edge of the previous cycle (see posedge_only).
                top_->eval();
                dump();
                const bool in_fire = have && top_->msg_in___05Fready;
                if (have && !top_->msg_in___05Fready) ++in_stalls;
                if (top_->dec_out___05Fvalid) {
                    if (out_ready) {
                        get_payload(out + i_out * FL_OUT_WORDS);
                        ++i_out;
                        last_out = c;
                    } else {
                        ++out_stalls;
                    }
                }
                if (in_fire) {
                    if (first_in < 0) first_in = c;
                    ++i_in;
                }
                posedge_only();
            }
            top_->msg_in___05Fvalid = 0;
            top_->dec_out___05Fready = 0;
            top_->eval();
            dump();
        }
        if (i_out < n_out) {
            throw std::runtime_error("stream timed out after " + std::to_string(c) + " cycles: " +
                                     std::to_string(i_in) + " of " + std::to_string(n_in) + " inputs accepted, " +
                                     std::to_string(i_out) + " of " + std::to_string(n_out) + " outputs collected");
        }
        return py::make_tuple(out_arr, c, first_in, last_out, in_stalls, out_stalls);
#else
        throw std::runtime_error("this design has no msg_in/dec_out streams");
#endif
    }

    uint64_t cycles() const { return cycles_; }

    void flush_trace() {
#if FL_TRACE_FST || FL_TRACE_VCD
        if (trace_) trace_->flush();
#endif
    }

  private:
    void tick() {
        top_->clk = 1;
        top_->eval();
        dump();
        top_->clk = 0;
        top_->eval();
        dump();
        ++cycles_;
    }

    // Rising edge without the falling-edge eval: the stream loop's next settle eval
    // (clk low) doubles as it, so a streamed cycle costs two evals instead of three.
    void posedge_only() {
        top_->clk = 1;
        top_->eval();
        dump();
        top_->clk = 0;
        ++cycles_;
    }

    void dump() {
#if FL_TRACE_FST || FL_TRACE_VCD
        if (trace_) trace_->dump(ctx_->time());
#endif
        ctx_->timeInc(1);
    }

    void idle_inputs() {
        top_->rst = 0;
        top_->csr___05Faddr = 0;
        top_->csr___05Fw_data = 0;
        top_->csr___05Fw_stb = 0;
        top_->csr___05Fr_stb = 0;
#if FL_HAS_IN
        top_->msg_in___05Fvalid = 0;
#endif
#if FL_HAS_OUT
        top_->dec_out___05Fready = 0;
#endif
    }

#if FL_HAS_IN
    void set_payload(const uint32_t* w) {
@@SET_PAYLOAD@@
    }
#endif
#if FL_HAS_OUT
    void get_payload(uint32_t* w) {
@@GET_PAYLOAD@@
    }
#endif

    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Vtop> top_;
#if FL_TRACE_FST || FL_TRACE_VCD
    std::unique_ptr<FlTrace> trace_;
#endif
    uint64_t cycles_ = 0;
};

}  // namespace

PYBIND11_MODULE(FL_MODULE, m) {
    m.doc() = "Verilated foreland kernel (generated by host/verilated.py)";
    m.attr("IN_BITS") = FL_HAS_IN ? FL_IN_BITS : 0;
    m.attr("OUT_BITS") = FL_HAS_OUT ? FL_OUT_BITS : 0;
    py::class_<Model>(m, "Model")
        .def(py::init<const std::string&>(), py::arg("trace_path") = "")
        .def("reset", &Model::reset, py::arg("cycles") = 2)
        .def("write", &Model::write)
        .def("read", &Model::read)
        .def("write_block", &Model::write_block)
        .def("run_until", &Model::run_until)
        .def("step", &Model::step)
        .def("stream", &Model::stream)
        .def("flush_trace", &Model::flush_trace)
        .def_property_readonly("cycles", &Model::cycles);
}
