//! The graph IR: types, primitive ops, the graph itself, its printer and verifier.
pub mod graph;
pub mod op;
pub mod print;
pub mod provenance;
pub mod size;
pub mod types;
pub mod verify;
pub mod window;

pub use graph::{Graph, Init, Node, NodeId, ParamDecl};
pub use op::{BinaryOp, Distribution, Op, ReduceOp, UnaryOp};
pub use types::{DType, Dim, Scalar, Shape, TensorType};
