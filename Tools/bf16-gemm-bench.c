// The bf16 kernel alone against OpenBLAS sgemm, one thread, same shapes, same run (issue 21).
// Build and run from the repository root:
//   clang -O3 Tools/bf16-gemm-bench.c Sources/CKernels/bf16_gemm.c -I Sources/CKernels/include $(pkg-config --cflags --libs openblas) -lm -o /tmp/bf16-bench
//   OPENBLAS_CORETYPE=SkylakeX /tmp/bf16-bench 800 2304 768
#include "ckernels.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  size_t m=atoi(argv[1]),n=atoi(argv[2]),k=atoi(argv[3]);
  printf("supported %d\n", rs_bf16_supported());
  float*a=malloc(4*m*k),*w=malloc(4*n*k),*c=malloc(4*m*n),*r=malloc(4*m*n);
  for(size_t i=0;i<m*k;i++)a[i]=(rand()/(float)RAND_MAX-0.5f);
  for(size_t i=0;i<n*k;i++)w[i]=(rand()/(float)RAND_MAX-0.5f)*0.05f;
  uint16_t*p=malloc(2*rs_bf16_packed_count(n,k)),*a16=malloc(2*m*((k+1)/2*2));
  rs_bf16_pack_weights(w,n,k,p);
  openblas_set_num_threads(1);
  double t0=now(); for(int it=0;it<5;it++) cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasTrans,m,n,k,1,a,k,w,k,0,r,n); double ts=(now()-t0)/5;
  t0=now(); for(int it=0;it<5;it++){ rs_bf16_convert_rows(a,k,m,k,a16); rs_bf16_gemm_nt(m,n,k,a16,p,c,n,0,0,(n+31)/32);} double tb=(now()-t0)/5;
  double err=0,nr=0; for(size_t i=0;i<m*n;i++){err+=(c[i]-r[i])*(c[i]-r[i]);nr+=r[i]*r[i];}
  double fl=2.0*m*n*k;
  printf("m%zu n%zu k%zu sgemm %.1f GF/s  bf16 %.1f GF/s  ratio %.2f  relerr %.2e\n",m,n,k,fl/ts/1e9,fl/tb/1e9,ts/tb,sqrt(err/nr));
}
