// Builds against an installed bend and trains a tiny model one step: proves headers, library and the
// bendConfig.cmake dependencies are all installed. The loss curve goes through bend::report's SVG
// chart, which proves the reporting library is installed and exported too.
#include <bend/bend.hpp>
#include <bend/optim/adam.hpp>
#include <bend/report.hpp>

int main() {
  bend::manual_seed(1);
  bend::nn::Sequential net{bend::nn::Linear(4, 8), bend::nn::GELU(), bend::nn::Linear(8, 2)};
  bend::optim::Adam opt(net.parameters(), 1e-2);
  bend::Rng rng(2);
  bend::Tensor x = bend::Tensor::uniform({16, 4}, -1, 1, rng);
  std::vector<std::int32_t> y(16);
  for (int i = 0; i < 16; ++i) y[static_cast<std::size_t>(i)] = x.at({i, 0}) > 0 ? 1 : 0;
  bend::plot::LineChart chart;
  chart.series.emplace_back();
  float first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    opt.zero_grad();
    bend::Tensor loss = bend::cross_entropy(net(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item();
    chart.series.back().x.push_back(step);
    chart.series.back().y.push_back(loss.item());
  }
  const std::string svg = bend::plot::render_svg(chart);
  fmt::print("consumer: loss {:.4f} -> {:.4f}, chart {} bytes\n", first, last, svg.size());
  return last < first && svg.find("<svg") != std::string::npos ? 0 : 1;
}
