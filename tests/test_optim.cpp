// Optimizers: SGD, Adam, AdamW and RMSprop against their documented update rules (computed here in double)
// and against numbers from real PyTorch; skipping of params without gradients; zero_grad; checkpoint state
// save/restore; validation errors; no allocation in steady-state steps. The optimizer registry: every entry
// constructs, validates its options, has PyTorch's defaults and round-trips its state.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>

#include "bend/bend.hpp"
#include "bend/optim/adam.hpp"
#include "bend/optim/registry.hpp"
#include "bend/optim/rmsprop.hpp"
#include "bend/optim/sgd.hpp"
#include "support.hpp"

// Unity builds (BEND_UNITY_TESTS) give each file its own namespace for its helpers.
namespace BEND_UNITY_ID {

using namespace bend;
using namespace bend::optim;  // the optimizers and schedulers, as torch::optim
using Catch::Matchers::Contains;

namespace {

using Rows = std::vector<std::vector<double>>;

// The parameter and gradient sequence of scripts/torch_optim_reference.py: gradient magnitudes
// shrink, so AMSGrad's running maximum differs from the current second moment in later steps.
const std::vector<float> kInitial = {0.5f, -1.25f, 2.0f, -0.1f};
const std::vector<std::vector<float>> kGrads = {
    {0.3f, -0.8f, 1.5f, 0.05f}, {-0.2f, -0.6f, 1.0f, 0.1f},   {0.1f, 0.4f, 0.2f, -0.3f},
    {0.05f, -0.1f, 0.1f, 0.0f}, {-0.4f, 0.2f, -0.05f, 0.02f},
};

// clang-format off
// Produced by scripts/torch_optim_reference.py with PyTorch 1.13.0a0.
const std::vector<std::vector<double>> kTorch_sgd_plain = {
    {0.4699999988079071, -1.1699999570846558, 1.8500000238418579, -0.10500000417232513},
    {0.49000000953674316, -1.1099998950958252, 1.75, -0.11500000208616257},
    {0.48000001907348633, -1.1499998569488525, 1.7300000190734863, -0.085000000894069672},
    {0.47500002384185791, -1.1399998664855957, 1.7200000286102295, -0.085000000894069672},
    {0.51500004529953003, -1.1599998474121094, 1.7250000238418579, -0.086999997496604919},
};
const std::vector<std::vector<double>> kTorch_sgd_momentum = {
    {0.4699999988079071, -1.1699999570846558, 1.8500000238418579, -0.10500000417232513},
    {0.46299999952316284, -1.0379999876022339, 1.6150000095367432, -0.11950000375509262},
    {0.44670000672340393, -0.95919996500015259, 1.3834999799728394, -0.10254999995231628},
    {0.42702999711036682, -0.87827998399734497, 1.1651500463485718, -0.087294995784759521},
    {0.44932699203491211, -0.82545197010040283, 0.97363507747650146, -0.07556549459695816},
};
const std::vector<std::vector<double>> kTorch_sgd_dampening = {
    {0.4699999988079071, -1.1699999570846558, 1.8500000238418579, -0.10500000417232513},
    {0.45699998736381531, -1.0559999942779541, 1.6449999809265137, -0.11650000512599945},
    {0.43829998373985291, -0.9814000129699707, 1.4464999437332153, -0.10585000365972519},
    {0.4179699718952179, -0.90726000070571899, 1.2608499526977539, -0.096265003085136414},
    {0.42767298221588135, -0.85453402996063232, 1.0972650051116943, -0.08903849869966507},
};
const std::vector<std::vector<double>> kTorch_sgd_nesterov = {
    {0.44299998879432678, -1.0980000495910645, 1.7150000333786011, -0.10949999839067459},
    {0.45669999718666077, -0.91920006275177002, 1.4035000801086426, -0.13255000114440918},
    {0.43202999234199524, -0.88828009366989136, 1.1751501560211182, -0.087294995784759521},
    {0.40932700037956238, -0.80545210838317871, 0.9686352014541626, -0.073565497994422913},
    {0.46939429640769958, -0.77790689468383789, 0.80127173662185669, -0.065008945763111115},
};
const std::vector<std::vector<double>> kTorch_sgd_weight_decay = {
    {0.4675000011920929, -1.1637500524520874, 1.8400000333786011, -0.10450000315904617},
    {0.48516249656677246, -1.0979312658309937, 1.7308000326156616, -0.11397750675678253},
    {0.47273668646812439, -1.1324416399002075, 1.702146053314209, -0.08340761810541153},
    {0.46537300944328308, -1.1167794466018677, 1.6836353540420532, -0.082990579307079315},
    {0.50304615497589111, -1.1311955451965332, 1.6802171468734741, -0.084575623273849487},
};
const std::vector<std::vector<double>> kTorch_sgd_all = {
    {0.46849998831748962, -1.1667499542236328, 1.8470000028610229, -0.10360000282526016},
    {0.47108349204063416, -1.0726492404937744, 1.6859769821166992, -0.11294760555028915},
    {0.4537845253944397, -1.0523817539215088, 1.5713727474212646, -0.088823556900024414},
    {0.43724563717842102, -1.0059869289398193, 1.4712909460067749, -0.081176698207855225},
    {0.45989444851875305, -0.98602676391601562, 1.3927693367004395, -0.076483912765979767},
};
const std::vector<std::vector<double>> kTorch_adam_plain = {
    {0.40000000596046448, -1.1499999761581421, 1.8999999761581421, -0.19999998807907104},
    {0.38554796576499939, -1.0517424345016479, 1.8029648065567017, -0.29651820659637451},
    {0.35769706964492798, -1.0049712657928467, 1.7213647365570068, -0.2626950740814209},
    {0.32737785577774048, -0.9614446759223938, 1.6514213085174561, -0.2349892258644104},
    {0.34951034188270569, -0.93520426750183105, 1.5938291549682617, -0.21502178907394409},
};
const std::vector<std::vector<double>> kTorch_adam_weight_decay = {
    {0.40000000596046448, -1.1499999761581421, 1.8999999761581421, -0.19999997317790985},
    {0.3700161874294281, -1.0514721870422363, 1.8024278879165649, -0.29651814699172974},
    {0.32674133777618408, -0.99325954914093018, 1.7167184352874756, -0.25438925623893738},
    {0.28045734763145447, -0.9367254376411438, 1.6396552324295044, -0.2156568318605423},
    {0.28764957189559937, -0.89385795593261719, 1.571689248085022, -0.18266984820365906},
};
const std::vector<std::vector<double>> kTorch_adam_amsgrad = {
    {0.40000000596046448, -1.1499999761581421, 1.8999999761581421, -0.19999998807907104},
    {0.38554796576499939, -1.0517424345016479, 1.8029648065567017, -0.29651820659637451},
    {0.35769706964492798, -1.0049712657928467, 1.7213647365570068, -0.2626950740814209},
    {0.32737785577774048, -0.9614446759223938, 1.6514213085174561, -0.23500308394432068},
    {0.34951034188270569, -0.93520426750183105, 1.5938360691070557, -0.21503564715385437},
};
const std::vector<std::vector<double>> kTorch_adam_all = {
    {0.45012468099594116, -1.2000476121902466, 1.950026273727417, -0.14838710427284241},
    {0.4300825297832489, -1.150879979133606, 1.901307225227356, -0.19556251168251038},
    {0.40211683511734009, -1.1202261447906494, 1.8581451177597046, -0.16940400004386902},
    {0.37191835045814514, -1.0891411304473877, 1.8190025091171265, -0.14652472734451294},
    {0.37161004543304443, -1.0646032094955444, 1.7843810319900513, -0.12794190645217896},
};
const std::vector<std::vector<double>> kTorch_adamw_plain = {
    {0.39950001239776611, -1.1487499475479126, 1.8980000019073486, -0.19989997148513794},
    {0.38464847207069397, -1.0493437051773071, 1.7990669012069702, -0.29621827602386475},
    {0.35641294717788696, -1.0015232563018799, 1.7156678438186646, -0.26209896802902222},
    {0.32573732733726501, -0.95699518918991089, 1.6440087556838989, -0.23413103818893433},
    {0.34754407405853271, -0.92979776859283447, 1.5847725868225098, -0.21392947435379028},
};
const std::vector<std::vector<double>> kTorch_adamw_weight_decay = {
    {0.375, -1.0874999761581421, 1.7999999523162842, -0.19499997794628143},
    {0.34179794788360596, -0.93486738204956055, 1.6129647493362427, -0.28176817297935486},
    {0.29685714840888977, -0.84135282039642334, 1.4507163763046265, -0.23385663330554962},
    {0.25169506669044495, -0.75575858354568481, 1.3082370758056641, -0.19445794820785522},
    {0.26124280691146851, -0.69173026084899902, 1.1852329969406128, -0.16476760804653168},
};
const std::vector<std::vector<double>> kTorch_adamw_amsgrad = {
    {0.375, -1.0874999761581421, 1.7999999523162842, -0.19499997794628143},
    {0.34179794788360596, -0.93486738204956055, 1.6129647493362427, -0.28176817297935486},
    {0.29685714840888977, -0.84135282039642334, 1.4507163763046265, -0.23385663330554962},
    {0.25169506669044495, -0.75575858354568481, 1.3082370758056641, -0.1944718062877655},
    {0.26124280691146851, -0.69173026084899902, 1.1852400302886963, -0.16478078067302704},
};
const std::vector<std::vector<double>> kTorch_rmsprop_plain = {
    {0.40000003576278687, -1.1499999761581421, 1.8999999761581421, -0.19999980926513672},
    {0.4556630551815033, -1.0898070335388184, 1.844336986541748, -0.28953203558921814},
    {0.42872533202171326, -1.1272103786468506, 1.8332176208496094, -0.19575929641723633},
    {0.41531094908714294, -1.1178536415100098, 1.8276386260986328, -0.19575929641723633},
    {0.48864167928695679, -1.1363372802734375, 1.8304409980773926, -0.20206139981746674},
};
const std::vector<std::vector<double>> kTorch_rmsprop_momentum = {
    {0.40000003576278687, -1.1499999761581421, 1.8999999761581421, -0.19999980926513672},
    {0.365663081407547, -0.99980705976486206, 1.754336953163147, -0.3795318603515625},
    {0.30782210826873779, -0.90203684568405151, 1.6121208667755127, -0.44733795523643494},
    {0.24235084652900696, -0.80468690395355225, 1.4785474538803101, -0.50836342573165894},
    {0.25675743818283081, -0.73555558919906616, 1.3611338138580322, -0.56958848237991333},
};
const std::vector<std::vector<double>> kTorch_rmsprop_centered = {
    {0.39949625730514526, -1.1494961977005005, 1.8994961977005005, -0.20050358772277832},
    {0.45517957210540771, -1.0887076854705811, 1.8432929515838623, -0.29084879159927368},
    {0.42820420861244202, -1.1262685060501099, 1.8320499658584595, -0.19697003066539764},
    {0.41476097702980042, -1.1168646812438965, 1.8264049291610718, -0.19697003066539764},
    {0.48812264204025269, -1.1354066133499146, 1.8292388916015625, -0.2032773494720459},
};
const std::vector<std::vector<double>> kTorch_rmsprop_weight_decay = {
    {0.40000003576278687, -1.1499999761581421, 1.8999999761581421, -0.19999974966049194},
    {0.44174900650978088, -1.0886507034301758, 1.8424603939056396, -0.28953194618225098},
    {0.40638318657875061, -1.1130011081695557, 1.8241047859191895, -0.1929955780506134},
    {0.38457560539245605, -1.0955127477645874, 1.8106688261032104, -0.18731249868869781},
    {0.45039424300193787, -1.1030153036117554, 1.8044140338897705, -0.18768797814846039},
};
const std::vector<std::vector<double>> kTorch_rmsprop_all = {
    {0.48347106575965881, -1.2333860397338867, 1.9833625555038452, -0.11500000208616257},
    {0.47941666841506958, -1.2137469053268433, 1.9643287658691406, -0.13803340494632721},
    {0.4696916937828064, -1.206060528755188, 1.9500622749328613, -0.13393227756023407},
    {0.45905077457427979, -1.1974064111709595, 1.9388034343719482, -0.13053643703460693},
    {0.46332624554634094, -1.1924962997436523, 1.9301769733428955, -0.12851588428020477},
};
// clang-format on

using MakeOptimizer = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>)>;

// Runs the gradient sequence on one parameter; returns the parameter after every step.
Rows run_steps(const MakeOptimizer& make, const std::vector<float>& initial = kInitial,
               const std::vector<std::vector<float>>& grads = kGrads) {
  Tensor p = Tensor::from(initial, {static_cast<std::int64_t>(initial.size())}).requires_grad_();
  auto opt = make({p});
  p.set_grad(Tensor::zeros(p.shape()));
  Rows rows;
  for (const auto& g : grads) {
    std::copy(g.begin(), g.end(), p.grad().data());
    opt->step();
    const auto v = p.to_vector();
    rows.emplace_back(v.begin(), v.end());
  }
  return rows;
}

void check_rows(const Rows& actual, const Rows& expected, double rtol = 1e-6, double atol = 1e-7) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t s = 0; s < actual.size(); ++s) {
    REQUIRE(actual[s].size() == expected[s].size());
    for (std::size_t i = 0; i < actual[s].size(); ++i) {
      INFO("step " << s + 1 << ", element " << i << ": got " << actual[s][i] << ", expected "
                   << expected[s][i]);
      CHECK(std::abs(actual[s][i] - expected[s][i]) <= atol + rtol * std::abs(expected[s][i]));
    }
  }
}

// The documented rules, in double.
Rows sgd_reference(const SgdOptions& o, const std::vector<float>& initial = kInitial,
                   const std::vector<std::vector<float>>& grads = kGrads) {
  std::vector<double> p(initial.begin(), initial.end()), buf(p.size());
  Rows rows;
  for (std::size_t s = 0; s < grads.size(); ++s) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = grads[s][i] + o.weight_decay * p[i];
      if (o.momentum != 0) {
        buf[i] = s == 0 ? d : o.momentum * buf[i] + (1 - o.dampening) * d;
        d = o.nesterov ? d + o.momentum * buf[i] : buf[i];
      }
      p[i] -= o.lr * d;
    }
    rows.push_back(p);
  }
  return rows;
}

Rows adam_reference(const AdamOptions& o, bool decoupled, const std::vector<float>& initial = kInitial,
                    const std::vector<std::vector<float>>& grads = kGrads) {
  std::vector<double> p(initial.begin(), initial.end()), m(p.size()), v(p.size()), v_max(p.size());
  const auto [b1, b2] = o.betas;
  Rows rows;
  for (std::size_t s = 0; s < grads.size(); ++s) {
    const double t = static_cast<double>(s + 1);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double g = grads[s][i];
      if (decoupled)
        p[i] *= 1 - o.lr * o.weight_decay;
      else
        g += o.weight_decay * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      v_max[i] = std::max(v_max[i], v[i]);
      const double v_hat = (o.amsgrad ? v_max[i] : v[i]) / (1 - std::pow(b2, t));
      p[i] -= o.lr / (1 - std::pow(b1, t)) * m[i] / (std::sqrt(v_hat) + o.eps);
    }
    rows.push_back(p);
  }
  return rows;
}

Rows rmsprop_reference(const RmspropOptions& o, const std::vector<float>& initial = kInitial,
                       const std::vector<std::vector<float>>& grads = kGrads) {
  std::vector<double> p(initial.begin(), initial.end()), square_avg(p.size()), grad_avg(p.size()),
      buf(p.size());
  const double a = o.alpha;
  Rows rows;
  for (const auto& step_grads : grads) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double g = step_grads[i] + o.weight_decay * p[i];
      square_avg[i] = a * square_avg[i] + (1 - a) * g * g;
      grad_avg[i] = a * grad_avg[i] + (1 - a) * g;
      const double variance = o.centered ? square_avg[i] - grad_avg[i] * grad_avg[i] : square_avg[i];
      const double avg = std::sqrt(variance) + o.eps;
      if (o.momentum > 0) {
        buf[i] = o.momentum * buf[i] + g / avg;
        p[i] -= o.lr * buf[i];
      } else {
        p[i] -= o.lr * g / avg;
      }
    }
    rows.push_back(p);
  }
  return rows;
}

MakeOptimizer sgd(const SgdOptions& o) {
  return [o](std::vector<Tensor> ps) { return std::make_unique<SGD>(std::move(ps), o); };
}
MakeOptimizer adam(const AdamOptions& o) {
  return [o](std::vector<Tensor> ps) { return std::make_unique<Adam>(std::move(ps), o); };
}
MakeOptimizer adamw(const AdamOptions& o) {
  return [o](std::vector<Tensor> ps) { return std::make_unique<AdamW>(std::move(ps), o); };
}
MakeOptimizer rmsprop(const RmspropOptions& o) {
  return [o](std::vector<Tensor> ps) { return std::make_unique<RMSprop>(std::move(ps), o); };
}
MakeOptimizer from_registry(const OptimizerEntry& entry, const OptimizerOptions& given) {
  const OptimizerOptions complete = complete_options(entry, given);
  return [&entry, complete](std::vector<Tensor> ps) { return entry.make(std::move(ps), complete); };
}

std::vector<float> random_values(std::size_t n, Rng& rng, float scale) {
  Tensor t = Tensor::uniform({static_cast<std::int64_t>(n)}, -scale, scale, rng);
  return t.to_vector();
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

// Steps an optimizer 4 times, snapshots state and hyperparameters, steps 3 more; a fresh optimizer
// (with stale state and another lr, both to be overwritten) restored from the snapshot must then
// take the same 3 steps bit for bit. A second parameter never gets a gradient, so it has no state.
void check_state_round_trip(const MakeOptimizer& make, Rng& rng) {
  std::vector<std::vector<float>> grads;
  for (int s = 0; s < 7; ++s) grads.push_back(random_values(37, rng, 1.0f));
  const std::vector<float> initial = random_values(37, rng, 1.0f);
  Tensor w = Tensor::from(initial, {37}).requires_grad_();
  Tensor b = Tensor::zeros({1}).requires_grad_();
  auto run = make({w, b});
  INFO(run->name());
  w.set_grad(Tensor::zeros({37}));
  const auto step = [&](Optimizer& opt, Tensor& param, int s) {
    std::copy(grads[s].begin(), grads[s].end(), param.grad().data());
    opt.step();
  };
  for (int s = 0; s < 4; ++s) step(*run, w, s);
  const OptimizerState saved = run->state_tensors();
  const auto hyper = run->hyperparameters();
  const Tensor w_saved = w.detach().clone();
  for (int s = 4; s < 7; ++s) step(*run, w, s);
  // The snapshot holds copies: later steps did not change it.
  const OptimizerState after = run->state_tensors();
  REQUIRE(after.size() == saved.size());
  bool snapshot_differs = false;
  for (std::size_t i = 0; i < saved.size(); ++i) {
    CHECK(saved[i].first == after[i].first);
    snapshot_differs |= !bit_identical(saved[i].second, after[i].second);
  }
  if (!saved.empty()) CHECK(snapshot_differs);

  // A fresh optimizer (other hyperparameters, to be overwritten) resumes from the snapshot.
  Tensor w2 = w_saved.clone().requires_grad_();
  Tensor b2 = Tensor::zeros({1}).requires_grad_();
  auto resumed = make({w2, b2});
  resumed->set_hyperparameters({{"lr", 0.5}});
  w2.set_grad(Tensor::zeros({37}));
  step(*resumed, w2, 0);  // leave stale state behind that load_state must replace
  w2.copy_from(w_saved);
  resumed->load_state(saved);
  resumed->set_hyperparameters(hyper);
  CHECK(resumed->hyperparameters() == hyper);
  for (int s = 4; s < 7; ++s) step(*resumed, w2, s);
  CHECK(bit_identical(w2, w));
  CHECK(w2.to_vector() != w_saved.to_vector());  // the steps did move the parameter
}

}  // namespace

TEST_CASE("SGD follows PyTorch's rule for every option", "[optim]") {
  struct Case {
    const char* name;
    SgdOptions options;
    const Rows& torch;
  };
  const Case cases[] = {
      {"plain", {0.1, 0, 0, false, 0}, kTorch_sgd_plain},
      {"momentum", {0.1, 0.9, 0, false, 0}, kTorch_sgd_momentum},
      {"dampening", {0.1, 0.9, 0.3, false, 0}, kTorch_sgd_dampening},
      {"nesterov", {0.1, 0.9, 0, true, 0}, kTorch_sgd_nesterov},
      {"weight decay", {0.1, 0, 0, false, 0.05}, kTorch_sgd_weight_decay},
      {"momentum + nesterov + weight decay", {0.05, 0.8, 0, true, 0.1}, kTorch_sgd_all},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const Rows actual = run_steps(sgd(c.options));
      check_rows(actual, sgd_reference(c.options));
      check_rows(actual, c.torch);
    }
  }
}

TEST_CASE("Adam and AdamW follow PyTorch's rule for every option", "[optim]") {
  struct Case {
    const char* name;
    AdamOptions options;
    bool decoupled;
    const Rows& torch;
  };
  const Case cases[] = {
      {"Adam plain", {0.1, {0.9, 0.999}, 1e-8, 0, false}, false, kTorch_adam_plain},
      {"Adam weight decay", {0.1, {0.9, 0.999}, 1e-8, 0.1, false}, false, kTorch_adam_weight_decay},
      {"Adam amsgrad", {0.1, {0.9, 0.999}, 1e-8, 0, true}, false, kTorch_adam_amsgrad},
      {"Adam betas + eps + weight decay + amsgrad",
       {0.05, {0.8, 0.95}, 1e-3, 0.2, true},
       false,
       kTorch_adam_all},
      {"AdamW default decay", {0.1, {0.9, 0.999}, 1e-8, 1e-2, false}, true, kTorch_adamw_plain},
      {"AdamW weight decay", {0.1, {0.9, 0.999}, 1e-8, 0.5, false}, true, kTorch_adamw_weight_decay},
      {"AdamW amsgrad", {0.1, {0.9, 0.999}, 1e-8, 0.5, true}, true, kTorch_adamw_amsgrad},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const Rows actual = run_steps(c.decoupled ? adamw(c.options) : adam(c.options));
      check_rows(actual, adam_reference(c.options, c.decoupled));
      check_rows(actual, c.torch);
    }
  }
}

TEST_CASE("RMSprop follows PyTorch's rule for every option", "[optim]") {
  struct Case {
    const char* name;
    RmspropOptions options;
    const Rows& torch;
  };
  const Case cases[] = {
      {"plain", {0.01, 0.99, 1e-8, 0, 0, false}, kTorch_rmsprop_plain},
      {"momentum", {0.01, 0.99, 1e-8, 0, 0.9, false}, kTorch_rmsprop_momentum},
      {"centered", {0.01, 0.99, 1e-8, 0, 0, true}, kTorch_rmsprop_centered},
      {"weight decay", {0.01, 0.99, 1e-8, 0.1, 0, false}, kTorch_rmsprop_weight_decay},
      {"alpha + eps + weight decay + momentum + centered",
       {0.005, 0.9, 1e-3, 0.2, 0.5, true},
       kTorch_rmsprop_all},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const Rows actual = run_steps(rmsprop(c.options));
      check_rows(actual, rmsprop_reference(c.options));
      check_rows(actual, c.torch);
    }
  }
}

TEST_CASE("RMSprop's defaults and name match PyTorch's", "[optim]") {
  Tensor p = Tensor::zeros({2}).requires_grad_();
  RMSprop r({p});
  CHECK(r.name() == "RMSprop");
  CHECK(r.lr() == 0.01);
  const RmspropOptions o = r.options();
  CHECK(o.alpha == 0.99);
  CHECK(o.eps == 1e-8);
  CHECK(o.weight_decay == 0.0);
  CHECK(o.momentum == 0.0);
  CHECK(!o.centered);
  // The options struct and the registry agree with the constructor's defaults.
  CHECK(RMSprop({p}, RmspropOptions{}).hyperparameters() == r.hyperparameters());
  CHECK(find_optimizer("rmsprop").defaults() == r.hyperparameters());
}

TEST_CASE("AdamW's defaults and names match PyTorch's", "[optim]") {
  Tensor p = Tensor::zeros({2}).requires_grad_();
  AdamW w({p});
  CHECK(w.name() == "AdamW");
  CHECK(w.options().weight_decay == 1e-2);
  CHECK(w.lr() == 1e-3);
  Adam a({p});
  CHECK(a.name() == "Adam");
  CHECK(a.options().weight_decay == 0.0);
  CHECK(a.options().betas == std::pair<double, double>{0.9, 0.999});
  CHECK(a.options().eps == 1e-8);
  CHECK(SGD({p}, 0.1).name() == "SGD");
}

TEST_CASE("long parameters take the vectorised path and its remainder", "[optim]") {
  Rng rng(11);
  const std::size_t n = 1037;  // not a multiple of any vector width
  const std::vector<float> initial = random_values(n, rng, 2.0f);
  std::vector<std::vector<float>> grads;
  for (int s = 0; s < 4; ++s) grads.push_back(random_values(n, rng, 1.0f / static_cast<float>(s + 1)));

  const SgdOptions s{0.05, 0.9, 0, true, 1e-2};
  check_rows(run_steps(sgd(s), initial, grads), sgd_reference(s, initial, grads), 1e-6, 1e-6);
  const AdamOptions a{0.01, {0.9, 0.99}, 1e-8, 0.05, true};
  check_rows(run_steps(adam(a), initial, grads), adam_reference(a, false, initial, grads), 1e-6, 1e-6);
  check_rows(run_steps(adamw(a), initial, grads), adam_reference(a, true, initial, grads), 1e-6, 1e-6);
  for (const RmspropOptions& r : {RmspropOptions{0.01, 0.9, 1e-8, 0.05, 0.9, true}, RmspropOptions{}})
    check_rows(run_steps(rmsprop(r), initial, grads), rmsprop_reference(r, initial, grads), 1e-5, 1e-6);
}

TEST_CASE("parameters whose grad is undefined are skipped and get no state", "[optim]") {
  for (int kind = 0; kind < 3; ++kind) {
    Tensor a = Tensor::from({1.0f, 2.0f}).requires_grad_();
    Tensor b = Tensor::from({3.0f, 4.0f, 5.0f}).requires_grad_();
    std::unique_ptr<Optimizer> opt;
    if (kind == 0)
      opt = std::make_unique<SGD>(std::vector<Tensor>{a, b}, 0.1, 0.9);
    else if (kind == 1)
      opt = std::make_unique<Adam>(std::vector<Tensor>{a, b}, 0.1);
    else
      opt = std::make_unique<RMSprop>(std::vector<Tensor>{a, b}, 0.01, 0.99, 1e-8, 0.0, 0.9, true);
    INFO(opt->name());
    a.set_grad(Tensor::from({1.0f, -1.0f}));
    opt->step();
    opt->step();
    CHECK(b.to_vector() == std::vector<float>{3.0f, 4.0f, 5.0f});
    CHECK(!b.grad().defined());
    CHECK(a.to_vector() != std::vector<float>{1.0f, 2.0f});
    for (const auto& [name, t] : opt->state_tensors()) CHECK(name.starts_with("state.0."));

    // b's first gradient starts its own state: PyTorch counts Adam's and RMSprop's steps per parameter.
    b.set_grad(Tensor::from({1.0f, 1.0f, 1.0f}));
    opt->step();
    std::map<std::string, float> steps;
    for (const auto& [name, t] : opt->state_tensors())
      if (name.ends_with(".step")) steps[name] = t.item();
    if (kind != 0)
      CHECK(steps == std::map<std::string, float>{{"state.0.step", 3.0f}, {"state.1.step", 1.0f}});
    else
      CHECK(opt->state_tensors().size() == 2);  // momentum buffers for both
  }
}

TEST_CASE("zero_grad zeros gradients in place and leaves undefined ones alone", "[optim]") {
  Tensor a = Tensor::from({1.0f, 2.0f, 3.0f}).requires_grad_();
  Tensor b = Tensor::from({4.0f}).requires_grad_();
  SGD opt({a, b}, 0.1);
  (a * a).sum().backward();
  const float* memory = a.grad().data();
  CHECK(a.grad().to_vector() == std::vector<float>{2.0f, 4.0f, 6.0f});
  opt.zero_grad();
  CHECK(a.grad().data() == memory);
  CHECK(a.grad().to_vector() == std::vector<float>{0.0f, 0.0f, 0.0f});
  CHECK(!b.grad().defined());
  // The next backward accumulates into the same, zeroed memory.
  (a * 3.0f).sum().backward();
  CHECK(a.grad().data() == memory);
  CHECK(a.grad().to_vector() == std::vector<float>{3.0f, 3.0f, 3.0f});
}

TEST_CASE("state save and restore continue bit-identically", "[optim]") {
  const MakeOptimizer makers[] = {
      sgd({0.05, 0.9, 0.1, false, 1e-3}),          sgd({0.05, 0.9, 0, true, 0}),
      adam({0.02, {0.9, 0.99}, 1e-8, 1e-2, true}), adamw({0.02, {0.8, 0.999}, 1e-6, 0.1, false}),
      rmsprop({0.01, 0.9, 1e-6, 1e-2, 0.8, true}), rmsprop({0.02, 0.99, 1e-8, 0, 0, false}),
  };
  Rng rng(3);
  for (const MakeOptimizer& make : makers) check_state_round_trip(make, rng);
}

TEST_CASE("state names follow PyTorch's state_dict", "[optim]") {
  Tensor p = Tensor::zeros({2, 3}).requires_grad_();
  p.set_grad(Tensor::ones({2, 3}));
  Adam adam_opt({p}, 0.1, {0.9, 0.999}, 1e-8, 0, true);
  CHECK(adam_opt.state_tensors().empty());
  adam_opt.step();
  std::vector<std::string> names;
  for (const auto& [name, t] : adam_opt.state_tensors()) {
    names.push_back(name);
    if (name.ends_with("step")) {
      CHECK(t.ndim() == 0);
      CHECK(t.item() == 1.0f);
    } else {
      CHECK(t.shape() == Shape{2, 3});
    }
  }
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
                                          "state.0.step"});
  SGD sgd_opt({p}, 0.1, 0.5);
  sgd_opt.step();
  REQUIRE(sgd_opt.state_tensors().size() == 1);
  CHECK(sgd_opt.state_tensors()[0].first == "state.0.momentum_buffer");
  CHECK(sgd_opt.state_tensors()[0].second.to_vector() == std::vector<float>(6, 1.0f));
  SGD plain({p}, 0.1);
  plain.step();
  CHECK(plain.state_tensors().empty());

  const auto sorted_names = [](const Optimizer& opt) {
    std::vector<std::string> result;
    for (const auto& [name, t] : opt.state_tensors()) result.push_back(name);
    std::sort(result.begin(), result.end());
    return result;
  };
  RMSprop full({p}, 0.01, 0.99, 1e-8, 0, 0.9, true);
  CHECK(full.state_tensors().empty());
  full.step();
  full.step();
  CHECK(sorted_names(full) == std::vector<std::string>{"state.0.grad_avg", "state.0.momentum_buffer",
                                                       "state.0.square_avg", "state.0.step"});
  for (const auto& [name, t] : full.state_tensors())
    if (name.ends_with("step")) CHECK(t.item() == 2.0f);
  RMSprop simple({p});
  simple.step();
  CHECK(sorted_names(simple) == std::vector<std::string>{"state.0.square_avg", "state.0.step"});
}

TEST_CASE("load_state rejects bad checkpoints and then changes nothing", "[optim][errors]") {
  Tensor p = Tensor::zeros({3}).requires_grad_();
  p.set_grad(Tensor::ones({3}));
  Adam opt({p}, 0.1);
  opt.step();
  const OptimizerState good = opt.state_tensors();
  const auto with = [&](const std::string& name, const Tensor& t) {
    OptimizerState s = good;
    for (auto& [n, v] : s)
      if (n == name) v = t;
    return s;
  };
  const auto with_renamed = [&](const std::string& from, const std::string& to) {
    OptimizerState s = good;
    for (auto& [n, v] : s)
      if (n == from) n = to;
    return s;
  };
  CHECK_THROWS_AS(opt.load_state(with("state.0.exp_avg", Tensor::zeros({4}))), ShapeError);
  CHECK_THROWS_WITH(opt.load_state(with("state.0.exp_avg", Tensor::zeros({4}))),
                    Contains("state.0.exp_avg") && Contains("[4]") && Contains("[3]"));
  CHECK_THROWS_WITH(opt.load_state(with("state.0.step", Tensor::scalar(1.5f))), Contains("step count"));
  CHECK_THROWS_WITH(opt.load_state(with("state.0.step", Tensor::scalar(-1.0f))), Contains("step count"));
  CHECK_THROWS_WITH(opt.load_state(with_renamed("state.0.exp_avg", "state.0.momentum_buffer")),
                    Contains("unknown state entry 'state.0.momentum_buffer'"));
  CHECK_THROWS_WITH(opt.load_state(with_renamed("state.0.exp_avg", "state.1.exp_avg")),
                    Contains("parameter 1") && Contains("1 parameters"));
  CHECK_THROWS_WITH(opt.load_state(with_renamed("state.0.exp_avg", "0.exp_avg")), Contains("'0.exp_avg'"));
  CHECK_THROWS_WITH(opt.load_state(with_renamed("state.0.exp_avg", "state.x.exp_avg")),
                    Contains("no parameter index"));
  CHECK_THROWS_WITH(opt.load_state(with_renamed("state.0.exp_avg", "state.0.exp_avg_sq")),
                    Contains("appears twice"));
  CHECK_THROWS_WITH(opt.load_state(with_renamed("state.0.exp_avg", "state.0.max_exp_avg_sq")),
                    Contains("amsgrad is off"));
  OptimizerState missing_step;
  for (const auto& e : good)
    if (e.first != "state.0.step") missing_step.push_back(e);
  CHECK_THROWS_WITH(opt.load_state(missing_step), Contains("no 'state.0.step'"));
  // Nothing was changed by the failed loads.
  const OptimizerState now = opt.state_tensors();
  REQUIRE(now.size() == good.size());
  for (std::size_t i = 0; i < now.size(); ++i) CHECK(bit_identical(now[i].second, good[i].second));

  SGD s({p}, 0.1, 0.9);
  CHECK_THROWS_WITH(s.load_state({{"state.0.exp_avg", Tensor::zeros({3})}}),
                    Contains("unknown state entry 'state.0.exp_avg'"));
  CHECK_THROWS_AS(s.load_state({{"state.0.momentum_buffer", Tensor::zeros({1, 3})}}), ShapeError);
  s.load_state({{"state.0.momentum_buffer", Tensor::full({3}, 2.0f)}});
  CHECK(s.state_tensors()[0].second.to_vector() == std::vector<float>{2.0f, 2.0f, 2.0f});
  s.load_state({});  // an empty state: back to fresh
  CHECK(s.state_tensors().empty());

  RMSprop plain_rms({p});
  plain_rms.step();
  const OptimizerState plain_state = plain_rms.state_tensors();
  OptimizerState with_buffer = plain_state;
  with_buffer.emplace_back("state.0.momentum_buffer", Tensor::zeros({3}));
  CHECK_THROWS_WITH(plain_rms.load_state(with_buffer), Contains("RMSprop") && Contains("momentum is 0"));
  OptimizerState with_grad_avg = plain_state;
  with_grad_avg.emplace_back("state.0.grad_avg", Tensor::zeros({3}));
  CHECK_THROWS_WITH(plain_rms.load_state(with_grad_avg), Contains("centered is off"));
  CHECK_THROWS_WITH(plain_rms.load_state({{"state.0.exp_avg", Tensor::zeros({3})}}),
                    Contains("unknown state entry 'state.0.exp_avg'"));
  CHECK_THROWS_AS(plain_rms.load_state(
                      {{"state.0.step", Tensor::scalar(1.0f)}, {"state.0.square_avg", Tensor::zeros({2})}}),
                  ShapeError);
  RMSprop centered_rms({p}, 0.01, 0.99, 1e-8, 0, 0.5, true);
  CHECK_THROWS_WITH(centered_rms.load_state(plain_state), Contains("no 'state.0.momentum_buffer'"));
  with_buffer.emplace_back("state.0.step", Tensor::scalar(2.0f));
  CHECK_THROWS_WITH(centered_rms.load_state(with_buffer), Contains("appears twice"));
  with_buffer.pop_back();
  CHECK_THROWS_WITH(centered_rms.load_state(with_buffer), Contains("no 'state.0.grad_avg'"));
  CHECK(centered_rms.state_tensors().empty());  // unchanged by the failed loads
  plain_rms.load_state(plain_state);
  CHECK(plain_rms.state_tensors().size() == plain_state.size());
}

TEST_CASE("invalid options are ValueErrors naming the option and value", "[optim][errors]") {
  Tensor p = Tensor::zeros({2}).requires_grad_();
  CHECK_THROWS_WITH(SGD({p}, -0.1), Contains("invalid lr") && Contains("-0.1"));
  CHECK_THROWS_WITH(SGD({p}, 0.1, -0.5), Contains("momentum") && Contains("-0.5"));
  CHECK_THROWS_WITH(SGD({p}, 0.1, 0.0, 0.0, false, -1.0), Contains("weight_decay") && Contains("-1"));
  CHECK_THROWS_WITH(SGD({p}, 0.1, 0.0, 0.0, true), Contains("Nesterov"));
  CHECK_THROWS_WITH(SGD({p}, 0.1, 0.9, 0.1, true), Contains("Nesterov") && Contains("dampening 0.1"));
  CHECK_THROWS_AS(SGD({p}, std::nan("")), ValueError);
  CHECK_THROWS_WITH(Adam({p}, -1e-3), Contains("Adam") && Contains("invalid lr"));
  CHECK_THROWS_WITH(Adam({p}, 1e-3, {1.0, 0.999}), Contains("beta1") && Contains("1"));
  CHECK_THROWS_WITH(Adam({p}, 1e-3, {0.9, -0.1}), Contains("beta2") && Contains("-0.1"));
  CHECK_THROWS_WITH(Adam({p}, 1e-3, {0.9, 0.999}, -1e-8), Contains("invalid eps") && Contains("-1e-08"));
  CHECK_THROWS_WITH(Adam({p}, 1e-3, {0.9, 0.999}, 1e-8, -0.1), Contains("weight_decay"));
  CHECK_THROWS_WITH(AdamW({p}, 1e-3, {0.9, 0.999}, 1e-8, -0.1),
                    Contains("AdamW") && Contains("weight_decay"));
  CHECK_THROWS_WITH(RMSprop({p}, -0.01), Contains("RMSprop") && Contains("invalid lr"));
  CHECK_THROWS_WITH(RMSprop({p}, 0.01, -0.5), Contains("alpha") && Contains("-0.5"));
  CHECK_THROWS_WITH(RMSprop({p}, 0.01, 0.99, -1e-8), Contains("invalid eps"));
  CHECK_THROWS_WITH(RMSprop({p}, 0.01, 0.99, 1e-8, -0.1), Contains("weight_decay") && Contains("-0.1"));
  CHECK_THROWS_WITH(RMSprop({p}, 0.01, 0.99, 1e-8, 0, -0.9), Contains("momentum") && Contains("-0.9"));
  RMSprop r({p});
  CHECK_THROWS_WITH(r.set_hyperparameters({{"centered", 0.5}}), Contains("0 or 1"));
  CHECK_THROWS_WITH(r.set_hyperparameters({{"beta1", 0.9}}), Contains("unknown hyperparameter 'beta1'"));
  CHECK_THROWS_WITH(r.set_hyperparameters({{"momentum", 0.9}, {"alpha", -1.0}}), Contains("alpha"));
  CHECK(r.options().momentum == 0.0);  // unchanged

  CHECK_THROWS_WITH(SGD({}, 0.1), Contains("empty parameter list"));
  CHECK_THROWS_WITH(SGD({p, p}, 0.1), Contains("more than once"));
  CHECK_THROWS_WITH(SGD({Tensor()}, 0.1), Contains("undefined"));
  Tensor not_leaf = p * 2.0f;
  CHECK_THROWS_WITH(SGD({not_leaf}, 0.1), Contains("not a leaf"));

  SGD opt({p}, 0.1);
  CHECK_THROWS_WITH(opt.set_lr(-1.0), Contains("learning rate"));
  CHECK_THROWS_WITH(opt.set_hyperparameters({{"betas", 0.9}}), Contains("unknown hyperparameter 'betas'"));
  CHECK_THROWS_WITH(opt.set_hyperparameters({{"nesterov", 0.5}}), Contains("0 or 1"));
  CHECK_THROWS_WITH(opt.set_hyperparameters({{"nesterov", 1.0}}), Contains("Nesterov"));  // momentum is 0
  CHECK(opt.hyperparameters().at("nesterov") == 0.0);                                     // unchanged
  opt.set_hyperparameters({{"nesterov", 1.0}, {"momentum", 0.9}});
  CHECK(opt.options().nesterov);
  CHECK(opt.options().momentum == 0.9);
}

TEST_CASE("steady-state steps allocate no tensor memory", "[optim][memory]") {
  Rng rng(1);
  Tensor w = Tensor::uniform({64, 32}, -1, 1, rng).requires_grad_();
  Tensor b = Tensor::zeros({64}).requires_grad_();
  w.set_grad(Tensor::uniform({64, 32}, -1, 1, rng));
  b.set_grad(Tensor::uniform({64}, -1, 1, rng));
  std::vector<std::unique_ptr<Optimizer>> opts;
  opts.push_back(std::make_unique<SGD>(std::vector<Tensor>{w, b}, 0.01, 0.9, 0.0, true, 1e-4));
  opts.push_back(
      std::make_unique<Adam>(std::vector<Tensor>{w, b}, 1e-3, std::pair{0.9, 0.999}, 1e-8, 0.0, true));
  opts.push_back(std::make_unique<AdamW>(std::vector<Tensor>{w, b}));
  opts.push_back(std::make_unique<RMSprop>(std::vector<Tensor>{w, b}, 0.01, 0.9, 1e-8, 1e-4, 0.9, true));
  for (auto& opt : opts) {
    INFO(opt->name());
    opt->step();  // allocates the state
    const MemoryStats before = memory_stats();
    for (int i = 0; i < 5; ++i) opt->step();
    const MemoryStats after = memory_stats();
    CHECK(after.buffers_created == before.buffers_created);
    CHECK(after.buffers_reused == before.buffers_reused);
    CHECK(after.objects_created == before.objects_created);
    CHECK(after.bytes_in_use == before.bytes_in_use);
  }
}

TEST_CASE("an optimizer trains a tiny least-squares model", "[optim]") {
  // y = 2x - 1 from four points; each optimizer should drive the loss near zero.
  const Tensor x = Tensor::from({-1.0f, 0.0f, 1.0f, 2.0f}, {4, 1});
  const Tensor y = Tensor::from({-3.0f, -1.0f, 1.0f, 3.0f}, {4, 1});
  const MakeOptimizer makers[] = {sgd({0.1, 0.9, 0, true, 0}), adam({0.1, {0.9, 0.999}, 1e-8, 0, false}),
                                  adamw({0.1, {0.9, 0.999}, 1e-8, 1e-4, true}),
                                  rmsprop({0.01, 0.99, 1e-8, 0, 0.5, true})};
  for (const MakeOptimizer& make : makers) {
    Tensor w = Tensor::zeros({1, 1}).requires_grad_();
    Tensor c = Tensor::zeros({1}).requires_grad_();
    auto opt = make({w, c});
    float loss_value = 0;
    for (int i = 0; i < 300; ++i) {
      opt->zero_grad();
      Tensor e = x.matmul(w) + c - y;
      Tensor loss = (e * e).mean();
      loss.backward();
      opt->step();
      loss_value = loss.item();
    }
    INFO(opt->name() << " final loss " << loss_value);
    CHECK(loss_value < 1e-3f);
    CHECK(std::abs(w.item() - 2.0f) < 0.05f);
  }
}

// The optimizer registry. These tests loop over optimizer_registry(), so a new entry is covered by
// them without being named here (and fails the defaults test until its PyTorch defaults are recorded).

namespace {

// For tests that need every kind of state: the state-creating options an entry takes.
OptimizerOptions rich_options(const OptimizerEntry& entry) {
  const OptimizerOptions candidates = {
      {"momentum", 0.9}, {"nesterov", 1}, {"centered", 1}, {"amsgrad", 1}, {"weight_decay", 0.01}};
  OptimizerOptions chosen;
  for (const auto& [key, value] : candidates)
    if (entry.find_option(key)) chosen[key] = value;
  return chosen;
}

std::string lower(std::string_view s) {
  std::string result(s);
  for (char& c : result) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return result;
}

}  // namespace

TEST_CASE("the registry lists sgd, adam, adamw and rmsprop and describes each", "[optim][registry]") {
  CHECK(optimizer_names() == "sgd, adam, adamw, rmsprop");
  const auto& registry = optimizer_registry();
  REQUIRE(registry.size() == 4);
  for (const OptimizerEntry& entry : registry) {
    INFO(entry.name);
    CHECK(&find_optimizer(entry.name) == &entry);
    CHECK(!entry.summary.empty());
    CHECK(entry.summary.find('\n') == std::string::npos);
    REQUIRE(!entry.options.empty());
    CHECK(entry.options.front().name == "lr");
    CHECK(entry.defaults().size() == entry.options.size());  // no option listed twice
    for (const OptimizerOption& o : entry.options) {
      INFO(o.name);
      CHECK(!o.help.empty());
      CHECK(o.help.find('\n') == std::string::npos);
      if (o.is_flag) CHECK((o.default_value == 0.0 || o.default_value == 1.0));
    }
    CHECK(entry.make);
  }
  CHECK_THROWS_AS(find_optimizer("lion"), ValueError);
  CHECK_THROWS_WITH(find_optimizer("lion"), Contains("'lion'") && Contains("sgd, adam, adamw, rmsprop"));
  CHECK_THROWS_WITH(make_optimizer("Adam", {Tensor::zeros({1}).requires_grad_()}), Contains("'Adam'"));
}

TEST_CASE("every registry entry constructs with its defaults; its options are its hyperparameters",
          "[optim][registry]") {
  for (const OptimizerEntry& entry : optimizer_registry()) {
    INFO(entry.name);
    Tensor p = Tensor::from({1.0f, -2.0f}).requires_grad_();
    std::unique_ptr<Optimizer> opt = make_optimizer(entry.name, {p});
    REQUIRE(opt);
    CHECK(lower(opt->name()) == entry.name);  // "AdamW" is --opt adamw
    CHECK(opt->lr() == entry.defaults().at("lr"));
    // Same names and values: a checkpoint's hyperparameters and the CLI's options are one vocabulary.
    CHECK(opt->hyperparameters() == entry.defaults());
    CHECK(complete_options(entry, {}) == entry.defaults());
    // It steps.
    p.set_grad(Tensor::from({0.5f, -0.5f}));
    opt->step();
    CHECK(p.to_vector() != std::vector<float>{1.0f, -2.0f});

    // Given options reach the optimizer; the others keep their defaults.
    OptimizerOptions given = rich_options(entry);
    given["lr"] = 0.125;
    const OptimizerOptions complete = complete_options(entry, given);
    CHECK(complete.size() == entry.options.size());
    for (const auto& [key, value] : complete)
      CHECK(value == (given.count(key) ? given.at(key) : entry.defaults().at(key)));
    CHECK(make_optimizer(entry.name, {p}, given)->hyperparameters() == complete);
  }
}

TEST_CASE("registry defaults are PyTorch's", "[optim][registry]") {
  // Produced by scripts/torch_optim_reference.py with PyTorch 1.13.0a0 (constructor defaults; SGD's lr
  // has none in PyTorch).
  // clang-format off
  const std::map<std::string, std::map<std::string, double>> kTorchDefaults = {
      {"sgd", {{"momentum", 0}, {"dampening", 0}, {"weight_decay", 0}, {"nesterov", 0}}},
      {"adam", {{"lr", 0.001}, {"beta1", 0.90000000000000002}, {"beta2", 0.999}, {"eps", 1e-08}, {"weight_decay", 0}, {"amsgrad", 0}}},
      {"adamw", {{"lr", 0.001}, {"beta1", 0.90000000000000002}, {"beta2", 0.999}, {"eps", 1e-08}, {"weight_decay", 0.01}, {"amsgrad", 0}}},
      {"rmsprop", {{"lr", 0.01}, {"alpha", 0.98999999999999999}, {"eps", 1e-08}, {"weight_decay", 0}, {"momentum", 0}, {"centered", 0}}},
  };
  // clang-format on
  for (const OptimizerEntry& entry : optimizer_registry()) {
    INFO(entry.name << ": record its PyTorch defaults with scripts/torch_optim_reference.py");
    REQUIRE(kTorchDefaults.count(entry.name) == 1);
    const auto& torch_defaults = kTorchDefaults.at(entry.name);
    // bend implements every option PyTorch has (apart from foreach/maximize/differentiable/...).
    for (const auto& [key, value] : torch_defaults) {
      INFO(key);
      REQUIRE(entry.find_option(key) != nullptr);
      CHECK(entry.find_option(key)->default_value == value);
    }
    for (const OptimizerOption& o : entry.options) {
      INFO(o.name);
      if (entry.name == "sgd" && o.name == "lr")
        CHECK(o.default_value == 0.01);  // PyTorch has no default; bend's
      else
        CHECK(torch_defaults.count(o.name) == 1);
    }
  }
}

TEST_CASE("complete_options rejects unknown options and bad values with clear messages",
          "[optim][registry][errors]") {
  CHECK_THROWS_WITH(
      complete_options(find_optimizer("adam"), {{"momentum", 0.9}}),
      "--opt adam has no option 'momentum' (it takes lr, beta1, beta2, eps, weight_decay, amsgrad)");
  CHECK_THROWS_WITH(
      complete_options(find_optimizer("rmsprop"), {{"beta1", 0.9}}),
      "--opt rmsprop has no option 'beta1' (it takes lr, alpha, eps, weight_decay, momentum, centered)");
  CHECK_THROWS_WITH(complete_options(find_optimizer("sgd"), {{"nesterov", 1}}),
                    Contains("--opt sgd") && Contains("Nesterov"));
  CHECK_THROWS_WITH(complete_options(find_optimizer("adam"), {{"beta2", 1.0}}),
                    Contains("--opt adam") && Contains("beta2"));
  CHECK_THROWS_WITH(complete_options(find_optimizer("rmsprop"), {{"alpha", -0.1}}),
                    Contains("--opt rmsprop") && Contains("alpha") && Contains("-0.1"));
  for (const OptimizerEntry& entry : optimizer_registry()) {
    INFO(entry.name);
    const std::string opt = "--opt " + entry.name;
    CHECK_THROWS_AS(complete_options(entry, {{"no_such_option", 1}}), ValueError);
    CHECK_THROWS_WITH(complete_options(entry, {{"no_such_option", 1}}),
                      Contains(opt) && Contains("'no_such_option'") && Contains(entry.option_names()));
    CHECK_THROWS_WITH(complete_options(entry, {{"lr", -1.0}}), Contains(opt) && Contains("invalid lr"));
    CHECK_THROWS_WITH(make_optimizer(entry.name, {Tensor::zeros({1}).requires_grad_()}, {{"lr", -1.0}}),
                      Contains(opt) && Contains("invalid lr"));
    CHECK_THROWS_WITH(complete_options(entry, {{"lr", std::nan("")}}),
                      Contains("'lr'") && Contains("finite"));
    CHECK_THROWS_WITH(complete_options(entry, {{"lr", std::numeric_limits<double>::infinity()}}),
                      Contains("'lr'") && Contains("finite"));
    for (const OptimizerOption& o : entry.options) {
      if (!o.is_flag) continue;
      INFO(o.name);
      CHECK_THROWS_WITH(complete_options(entry, {{o.name, 0.5}}),
                        Contains(opt) && Contains("'" + o.name + "'") && Contains("0 or 1"));
    }
  }
}

TEST_CASE("every registry entry round-trips its state bit-identically", "[optim][registry]") {
  Rng rng(17);
  for (const OptimizerEntry& entry : optimizer_registry()) {
    INFO(entry.name);
    check_state_round_trip(from_registry(entry, {}), rng);
    // With every state buffer the optimizer can have: the snapshot must not be empty.
    const MakeOptimizer rich = from_registry(entry, rich_options(entry));
    Tensor p = Tensor::zeros({2}).requires_grad_();
    auto probe = rich({p});
    p.set_grad(Tensor::ones({2}));
    probe->step();
    CHECK(!probe->state_tensors().empty());
    check_state_round_trip(rich, rng);
  }
}

TEST_CASE("every registry entry steps without allocating in steady state", "[optim][registry][memory]") {
  Rng rng(5);
  for (const OptimizerEntry& entry : optimizer_registry()) {
    INFO(entry.name);
    Tensor w = Tensor::uniform({32, 16}, -1, 1, rng).requires_grad_();
    Tensor b = Tensor::zeros({32}).requires_grad_();
    w.set_grad(Tensor::uniform({32, 16}, -1, 1, rng));
    b.set_grad(Tensor::uniform({32}, -1, 1, rng));
    auto opt = make_optimizer(entry.name, {w, b}, rich_options(entry));
    opt->step();  // allocates the state
    const MemoryStats before = memory_stats();
    for (int i = 0; i < 3; ++i) opt->step();
    const MemoryStats after = memory_stats();
    CHECK(after.buffers_created == before.buffers_created);
    CHECK(after.buffers_reused == before.buffers_reused);
    CHECK(after.objects_created == before.objects_created);
    CHECK(after.bytes_in_use == before.bytes_in_use);
  }
}

TEST_CASE("backward_and_step ends bit-identical to backward then step, for every registry entry",
          "[optim][registry]") {
  // Two copies of the same parameters, stepped the two ways over several steps. The loss covers what
  // the grad-ready hook must get right: a weight used by two ops (updated only after its last use), a
  // leaf input that requires grad but is no parameter, a bias whose gradient arrives first, a
  // parameter the loss never uses but that holds a gradient (stepped after backward, as step() does)
  // and one with no gradient at all (skipped).
  for (const OptimizerEntry& entry : optimizer_registry()) {
    INFO(entry.name);
    struct Params {
      Tensor w1, b1, w2, unused_with_grad, unused_without_grad;
      std::vector<Tensor> all() const { return {w1, b1, w2, unused_with_grad, unused_without_grad}; }
    };
    Rng init(7);
    Params a{Tensor::uniform({8, 6}, -0.5, 0.5, init), Tensor::uniform({8}, -0.1, 0.1, init),
             Tensor::uniform({3, 8}, -0.5, 0.5, init), Tensor::uniform({5}, -1, 1, init), Tensor::zeros({4})};
    Params b{a.w1.clone(), a.b1.clone(), a.w2.clone(), a.unused_with_grad.clone(),
             a.unused_without_grad.clone()};
    for (Params* p : {&a, &b})
      for (Tensor t : p->all()) t.requires_grad_();
    const OptimizerOptions options = rich_options(entry);
    auto opt_a = make_optimizer(entry.name, a.all(), options);
    auto opt_b = make_optimizer(entry.name, b.all(), options);
    Rng data(11);
    for (int step = 0; step < 4; ++step) {
      const Tensor x = Tensor::uniform({5, 6}, -1, 1, data);
      const Tensor x_a = x.clone().requires_grad_(), x_b = x.clone().requires_grad_();
      const auto loss_of = [](const Params& p, const Tensor& input) {
        const Tensor h = tanh(linear(input, p.w1, p.b1));
        const Tensor twice = linear(tanh(linear(input, p.w1)), p.w2);  // w1 again, and w2
        return add(mean(mul(linear(h, p.w2), linear(h, p.w2))), mean(mul(twice, twice)));
      };
      opt_a->zero_grad();
      opt_b->zero_grad();
      a.unused_with_grad.set_grad(Tensor::full({5}, 0.25f));
      b.unused_with_grad.set_grad(Tensor::full({5}, 0.25f));
      const Tensor loss_a = loss_of(a, x_a);
      loss_a.backward();
      opt_a->step();
      const Tensor loss_b = loss_of(b, x_b);
      opt_b->backward_and_step(loss_b);
      REQUIRE(loss_a.item() == loss_b.item());
      const std::vector<Tensor> pa = a.all(), pb = b.all();
      for (std::size_t k = 0; k < pa.size(); ++k) {
        INFO("step " << step << ", parameter " << k);
        CHECK(bit_identical(pa[k], pb[k]));
        CHECK(pa[k].grad().defined() == pb[k].grad().defined());
        if (pa[k].grad().defined()) CHECK(bit_identical(pa[k].grad(), pb[k].grad()));
      }
      CHECK(bit_identical(x_a.grad(), x_b.grad()));
      const OptimizerState sa = opt_a->state_tensors(), sb = opt_b->state_tensors();
      REQUIRE(sa.size() == sb.size());
      for (std::size_t k = 0; k < sa.size(); ++k) {
        CHECK(sa[k].first == sb[k].first);
        CHECK(bit_identical(sa[k].second, sb[k].second));
      }
    }
    CHECK(!a.unused_without_grad.grad().defined());
    CHECK(!bit_identical(a.w1, Tensor::uniform({8, 6}, -0.5, 0.5, init)));  // (it did move)
  }
}

TEST_CASE("backward_and_step updates each parameter while backward runs", "[optim]") {
  // The first layer's weight is read by nothing after its last use, so its update may happen before
  // backward reaches the input; observed through the input's gradient, which is computed from the
  // weights *before* any update (the update comes after the op's backward), and the parameter itself.
  Rng rng(3);
  Tensor w = Tensor::uniform({4, 3}, -1, 1, rng).requires_grad_();
  const Tensor w_before = w.clone();
  const Tensor x = Tensor::uniform({2, 3}, -1, 1, rng).requires_grad_();
  SGD sgd({w}, 0.5);
  const Tensor loss = sum(linear(x, w));
  sgd.backward_and_step(loss);
  // d(sum(x·wᵀ))/dx = column sums of w: from the weights before the update.
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) {
      float column = 0;
      for (std::int64_t o = 0; o < 4; ++o) column += w_before.data()[o * 3 + j];
      CHECK(x.grad().data()[i * 3 + j] == Approx(column));
    }
  for (std::int64_t k = 0; k < w.numel(); ++k)
    CHECK(w.data()[k] == Approx(w_before.data()[k] - 0.5f * w.grad().data()[k]));
}

TEST_CASE("each option of an optimizer's table reads and writes its own member", "[optim][registry]") {
  for (const OptimizerEntry& entry : optimizer_registry()) {
    INFO(entry.name);
    Tensor p = Tensor::zeros({2}).requires_grad_();
    auto opt = entry.make({p}, entry.defaults());
    // The table's names and defaults are hyperparameters()'s, which the registry copies.
    CHECK(opt->hyperparameters() == entry.defaults());
    for (const OptimizerOption& option : entry.options) {
      INFO(option.name);
      // 0.5 is valid for every option and no option's default; a flag is set to 1 (Nesterov needs momentum).
      std::map<std::string, double> change = {{option.name, option.is_flag ? 1.0 : 0.5}};
      CHECK(option.default_value != change.at(option.name));
      if (option.name == "nesterov") change["momentum"] = 0.5;
      opt->set_hyperparameters(entry.defaults());
      opt->set_hyperparameters(change);
      std::map<std::string, double> expected = entry.defaults();
      for (const auto& [key, value] : change) expected[key] = value;
      CHECK(opt->hyperparameters() == expected);
      // The optimizer built with those options holds the same values.
      CHECK(entry.make({p}, expected)->hyperparameters() == expected);
    }
    CHECK_THROWS_WITH(opt->set_hyperparameters({{"bogus", 1.0}}),
                      Contains("unknown hyperparameter 'bogus'") && Contains(entry.option_names()));
  }
  // The structs' members and the table agree: a default-constructed Options is the table's defaults.
  CHECK(optim::SGD::table().values(optim::SgdOptions{}) == find_optimizer("sgd").defaults());
  CHECK(optim::Adam::table().values(optim::AdamOptions{}) == find_optimizer("adam").defaults());
  CHECK(optim::AdamW::table().defaults.weight_decay == 1e-2);
  CHECK(find_optimizer("adamw").defaults().at("weight_decay") == 1e-2);
  CHECK(optim::RMSprop::table().values(optim::RmspropOptions{}) == find_optimizer("rmsprop").defaults());
}

}  // namespace BEND_UNITY_ID
